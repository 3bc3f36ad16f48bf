"""Run the forgetting benchmark: every method at several learning rates, the same data and seed for all; score
each trained model on the target task and on general ability against the base model; report trade-off curves.

    python -m benchmarks.forgetting --quick          # CI-size grid: a pipeline check, minutes
    python -m benchmarks.forgetting                  # the full grid (sizes.py), resumable
    python -m benchmarks.forgetting --methods sft --lrs 1e-5,1e-4   # a part of the grid, same output folder

Each trained method is one YAML config in examples/forgetting/, run through hfplug's own
``parse_train_config``/``run_training`` (the same path as ``hfplug train --config``) with this run's sizes and
learning rate written over it; the effective configs are saved next to the results. Every finished run is saved
in ``<out>/runs/<method>@<lr>.json`` at once, so an interrupted benchmark resumes where it stopped.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path
from typing import Any

import yaml

from benchmarks.forgetting import data
from benchmarks.forgetting.evaluation import count_items, load_eval_sets
from benchmarks.forgetting.grid import EXAMPLES, METHODS, Run, plan_runs
from benchmarks.forgetting.report import write_report
from benchmarks.forgetting.scoring import score_model
from benchmarks.forgetting.sizes import FULL, MEDIUM, PROBE, QUICK, Sizes

BASE_MODEL = "asset:smollm2-135m-instruct"
SEED = 42


def effective_config(run: Run, sizes: Sizes, model: str, dataset: Path, out: Path) -> Path:
    """The method's example config with this run's model, data, budget, rate and output folder written over it."""
    raw = yaml.safe_load((EXAMPLES / METHODS[run.method].config).read_text())
    raw.update(
        model_name_or_path=model,
        dataset=str(dataset),
        output_dir=str(out / "models" / run.run_id),
        learning_rate=run.learning_rate,
        max_steps=sizes.max_steps,
        per_device_train_batch_size=sizes.batch_size,
        max_length=sizes.max_length,
        seed=SEED,
        lr_scheduler_type=sizes.lr_scheduler_type,
        warmup_steps=sizes.warmup_steps,
        # Recomputing activations saves memory a 135M model does not need, at a third more compute.
        gradient_checkpointing=False,
    )
    for step in raw.get("data") or []:
        if step["name"] == "context_free":
            step["max_new_tokens"] = sizes.context_free_tokens
        if step["name"] == "flow_weights":
            step["max_length"] = sizes.max_length  # weights from exactly the tokens that are trained on
    path = out / "configs" / f"{run.run_id}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def train(config_path: Path) -> tuple[str, dict[str, float]]:
    """Train through hfplug's config pipeline; return the output folder and the wall and CPU seconds it took
    (data transforms included: FLOW's weights and the context-free samples are part of a method's cost). CPU
    seconds (all threads) do not depend on how loaded a shared machine is, so budgets are estimated from them."""
    from hfplug.config import parse_train_config
    from hfplug.train import run_training

    start, cpu = time.perf_counter(), time.process_time()
    result = run_training(parse_train_config(config_path))
    seconds = {"train_seconds": time.perf_counter() - start, "train_cpu_seconds": time.process_time() - cpu}
    return result.output_dir, seconds


def load_for_scoring(path: str) -> tuple[Any, Any]:
    """A trained model (LoRA adapters merged into the base) and its tokenizer, in eval mode."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if (Path(path) / "adapter_config.json").is_file():
        from peft import AutoPeftModelForCausalLM

        model = AutoPeftModelForCausalLM.from_pretrained(path).merge_and_unload()
    else:
        model = AutoModelForCausalLM.from_pretrained(path)
    return model.eval(), AutoTokenizer.from_pretrained(path)


def scored(model_path: str, eval_sets: dict[str, Any], sizes: Sizes) -> tuple[dict[str, Any], dict[str, float]]:
    model, tokenizer = load_for_scoring(model_path)
    start, cpu = time.perf_counter(), time.process_time()
    scores = score_model(model, tokenizer, eval_sets, batch_size=sizes.eval_batch_size)
    return scores, {"eval_seconds": time.perf_counter() - start, "eval_cpu_seconds": time.process_time() - cpu}


def check_same_settings(out: Path, settings: dict[str, Any]) -> None:
    """Resuming is only sound with the same sizes, model and seed: refuse to mix runs of different settings."""
    path = out / "settings.json"
    if path.is_file():
        saved = json.loads(path.read_text())
        if saved != settings:
            changed = sorted(k for k in settings if saved.get(k) != settings[k])
            raise SystemExit(
                f"{out} holds runs made with other settings ({', '.join(changed)}); use another --out or delete it."
            )
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings, indent=2))


def claim(runs_dir: Path, run: Run) -> bool:
    """Take the run for this process (a lock file created exclusively), unless it is done or taken: several
    processes can then share one output folder, e.g. ``--methods talr`` and ``--methods flow`` side by side.
    A lock left by a killed process must be deleted by hand."""
    if (runs_dir / f"{run.run_id}.json").is_file():
        return False
    try:
        (runs_dir / f"{run.run_id}.lock").open("x").close()
    except FileExistsError:
        return False
    return True


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="CI-size grid: a pipeline check, not a result")
    parser.add_argument("--probe", action="store_true", help="the first reduced grid (16 steps of 2 rows, one rate)")
    parser.add_argument("--medium", action="store_true", help="the grid that fits 2 idle CPU cores in about 2.6 h")
    parser.add_argument("--out", type=Path, help="output folder (default outputs/forgetting[-quick])")
    parser.add_argument("--methods", default=",".join(METHODS), help=f"comma-separated subset of {', '.join(METHODS)}")
    parser.add_argument("--lrs", help="comma-separated full fine-tuning rates (default: the sizes' grid)")
    parser.add_argument("--no-paper-lrs", action="store_true", help="skip the extra rates (TALR's paper rates)")
    parser.add_argument("--model", default=BASE_MODEL, help="base model (default: SmolLM2-135M-Instruct)")
    parser.add_argument("--keep-models", action="store_true", help="keep every trained model (540 MB each)")
    parser.add_argument("--prepare-data", action="store_true", help="only write the training data and exit")
    args = parser.parse_args(argv)
    unknown = [m for m in args.methods.split(",") if m not in METHODS]
    if unknown:
        parser.error(f"unknown method(s) {unknown}; choose from {', '.join(METHODS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    from tqdm.auto import tqdm

    from hfplug.assets import resolve_model_path

    args = parse_args(argv)
    preset = next((name for name in ("quick", "probe", "medium") if getattr(args, name)), "full")
    sizes = {"quick": QUICK, "probe": PROBE, "medium": MEDIUM, "full": FULL}[preset]
    out = args.out or Path("outputs") / ("forgetting" if preset == "full" else f"forgetting-{preset}")
    rates = tuple(float(x) for x in args.lrs.split(",")) if args.lrs else sizes.learning_rates
    runs = plan_runs(args.methods.split(","), rates, paper_lrs=not args.no_paper_lrs)
    settings = {"sizes": {**sizes.as_dict(), "learning_rates": None}, "model": args.model, "seed": SEED}
    check_same_settings(out, settings)

    problems = data.gsm_symbolic_problems(sizes.train_rows, seed=SEED)
    dataset = data.write_jsonl(data.training_rows(problems), out / "gsm_symbolic_train.jsonl")
    print(f"training data: {dataset} ({sizes.train_rows} gsm_symbolic problems)")
    if args.prepare_data:
        return 0
    eval_sets = load_eval_sets(sizes, {p["question"] for p in problems})

    runs_dir = out / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    base_path = runs_dir / "base.json"
    if not base_path.is_file():
        scores, seconds = scored(resolve_model_path(args.model), eval_sets, sizes)
        base_path.write_text(json.dumps({"scores": scores, **{k: round(v, 1) for k, v in seconds.items()}}))
    print(f"evaluation items: {count_items(json.loads(base_path.read_text())['scores'])}")
    failed = 0
    todo = [run for run in runs if not (runs_dir / f"{run.run_id}.json").is_file()]
    progress = tqdm(total=len(runs), initial=len(runs) - len(todo), desc="forgetting runs", unit="run")
    for run in todo:
        progress.set_postfix_str(run.run_id)
        if not claim(runs_dir, run):
            tqdm.write(f"{run.run_id}: done or in progress in another process, skipped")
            progress.update(1)
            continue
        try:
            model_path, train_seconds = train(effective_config(run, sizes, args.model, dataset, out))
            scores, eval_seconds = scored(model_path, eval_sets, sizes)
            seconds = {k: round(v, 1) for k, v in {**train_seconds, **eval_seconds}.items()}
        except Exception as exc:  # one broken run must not hide the others; it is reported and retried next time
            failed += 1
            tqdm.write(f"{run.run_id} failed: {type(exc).__name__}: {exc}")
        else:
            record = {
                "method": run.method,
                "learning_rate": run.learning_rate,
                **seconds,
                "scores": scores,
            }
            (runs_dir / f"{run.run_id}.json").write_text(json.dumps(record))
            if not args.keep_models:
                shutil.rmtree(model_path, ignore_errors=True)
            write_report(out, sizes)
        finally:
            (runs_dir / f"{run.run_id}.lock").unlink(missing_ok=True)
        progress.update(1)
    progress.close()
    write_report(out, sizes)
    print((out / "results.md").read_text())
    return 1 if failed else 0
