"""Run the InfoPO benchmark and write its report.

    python -m benchmarks.infopo --quick                 # tiny sizes: checks the whole pipeline (minutes)
    python -m benchmarks.infopo                         # the full run (sizes.py)
    python -m benchmarks.infopo --parts toy,timing      # a subset

Output in ``outputs/infopo[-quick]/``: ``results.json`` (every number, curve and timing), ``results.md``
(tables) and ``likelihood.png`` (the chosen log-likelihood over training, the paper's claim).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from benchmarks.infopo.report import write_plot, write_tables
from benchmarks.infopo.sizes import FULL, QUICK

PARTS = ("toy", "smollm2", "timing")


def main() -> None:
    parser = argparse.ArgumentParser(description="InfoPO vs DPO: likelihood, quality, step time")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a pipeline check")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {PARTS}")
    parser.add_argument("--out", default=None, help="output folder (default outputs/infopo[-quick])")
    cli = parser.parse_args()
    parts = [p for p in cli.parts.split(",") if p]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s) {unknown}; choose from {PARTS}")
    sizes = QUICK if cli.quick else FULL
    out = Path(cli.out or ("outputs/infopo-quick" if cli.quick else "outputs/infopo"))
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    results["sizes"] = sizes.__dict__

    def log(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)

    def save() -> None:
        results_path.write_text(json.dumps(results, indent=1, default=str))

    workdir = str(out / "work")
    if "toy" in parts:
        from benchmarks.infopo.toy import run_toy

        results["toy"] = run_toy(sizes, f"{workdir}/toy", log)
        save()
    if "smollm2" in parts:
        from benchmarks.infopo.smollm2 import run_smollm2

        results["smollm2"] = run_smollm2(sizes, f"{workdir}/smollm2", log)
        save()
    if "timing" in parts:
        results["timing"] = run_timing(sizes, f"{workdir}/timing", log)
        save()
    write_tables(results, out / "results.md")
    write_plot(results, out / "likelihood.png")
    log(f"wrote {out / 'results.md'} and {out / 'likelihood.png'}")


def run_timing(sizes, workdir: str, log) -> dict:
    import torch
    from datasets import Dataset

    from benchmarks.infopo.pairs import split_questions, training_pairs, truthfulqa_questions
    from benchmarks.infopo.smollm2 import BASE_MODEL, freeze_all_but_top_layers
    from benchmarks.infopo.timing import step_time_ratio, toy_model_timing
    from hfplug.models import load_causal_lm

    torch.set_num_threads(2)
    timing = {"toy_llama": toy_model_timing(sizes.toy_timing_steps, f"{workdir}/toy")}
    log(f"timing, small Llama: {timing['toy_llama']}")
    model, tokenizer = load_causal_lm(BASE_MODEL)
    freeze_all_but_top_layers(model, sizes.trainable_layers)
    splits = split_questions(truthfulqa_questions(), sizes.train_questions, sizes.val_questions, sizes.test_questions)
    pairs = Dataset.from_dict(training_pairs(splits["train"], sizes.rejected_per_question))
    timing["smollm2"] = step_time_ratio(
        model, tokenizer, pairs, sizes.timing_batch_size, sizes.timing_steps, f"{workdir}/smollm2"
    )
    log(f"timing, SmolLM2: {timing['smollm2']}")
    return timing
