"""Context-free generation speed: tokens/s of hfplug_context_free vs plain ``model.generate`` on the same batch.

    python benchmarks/context_free_throughput.py               # SmolLM2-135M-Instruct (offline asset)
    python benchmarks/context_free_throughput.py --tiny        # a tiny random model, seconds

Both sides sample ``--batch`` sequences of up to ``--new-tokens`` tokens from the BOS token alone, with the
same seed and settings (temperature 1, no top-k/top-p), so they generate the same tokens; the goal is a
ratio >= 0.95. Runs alternate, and the median of ``--repeats`` runs is reported.
"""

from __future__ import annotations

import argparse
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import torch
    from hfplug_context_free import ContextFreeConfig, generate_context_free
    from hfplug_context_free.sampling import end_token_ids, trim_after_end

    if args.tiny:
        from hfplug.testing import make_tiny_model, make_tiny_tokenizer

        tokenizer = make_tiny_tokenizer()
        model = make_tiny_model(tokenizer)
    else:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from hfplug.assets import resolve_model_path

        path = resolve_model_path("asset:smollm2-135m-instruct")
        tokenizer, model = AutoTokenizer.from_pretrained(path), AutoModelForCausalLM.from_pretrained(path)
    model.eval()
    bos = tokenizer.bos_token_id
    end_ids = end_token_ids(model, tokenizer)
    config = ContextFreeConfig(max_new_tokens=args.new_tokens, batch_size=args.batch, progress=False)

    def plain() -> list[list[int]]:
        torch.manual_seed(0)
        input_ids = torch.full((args.batch, 1), bos)
        with torch.inference_mode():
            output = model.generate(
                input_ids=input_ids,
                attention_mask=torch.ones_like(input_ids),
                do_sample=True,
                temperature=1.0,
                top_k=0,  # explicit: None would mean transformers' default of 50
                top_p=1.0,
                max_new_tokens=args.new_tokens,
                eos_token_id=end_ids,
                pad_token_id=model.generation_config.pad_token_id or end_ids[0],
            )
        return [trim_after_end(row, end_ids) for row in output[:, 1:].tolist()]

    def ours() -> list[list[int]]:
        return generate_context_free(model, bos, args.batch, config, seed=0, end_ids=end_ids)

    rates: dict[str, list[float]] = {"plain": [], "context_free": []}
    outputs = {}
    for _ in range(args.repeats):
        for name, run in (("plain", plain), ("context_free", ours)):
            start = time.perf_counter()
            samples = run()
            elapsed = time.perf_counter() - start
            rates[name].append(sum(len(s) for s in samples) / elapsed)
            outputs[name] = samples
    plain_rate, ours_rate = (statistics.median(rates[k]) for k in ("plain", "context_free"))
    print(
        f"model: {'tiny random' if args.tiny else 'SmolLM2-135M-Instruct'}, batch {args.batch}, "
        f"up to {args.new_tokens} new tokens, {args.repeats} repeats, {torch.get_num_threads()} threads"
    )
    print(f"plain model.generate: {plain_rate:.1f} tok/s")
    print(f"context_free:         {ours_rate:.1f} tok/s")
    same = outputs["plain"] == outputs["context_free"]
    print(f"ratio: {ours_rate / plain_rate:.3f} (goal >= 0.95); same tokens: {same}")


if __name__ == "__main__":
    main()
