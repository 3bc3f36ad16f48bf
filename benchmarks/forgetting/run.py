"""Run the forgetting benchmark: train every method with the same budget, score every model, report.

    python -m benchmarks.forgetting --quick          # tiny sizes, a few minutes: checks the whole pipeline
    python -m benchmarks.forgetting                  # the full run (sizes in sizes.py), < 90 min on 2 CPU cores
    python -m benchmarks.forgetting --methods base,sft,context_free

Each trained method is one YAML config in examples/forgetting/, run through hfplug's own
``parse_train_config``/``run_training`` (the same path as ``hfplug train --config``) with the sizes
of this run written over it; the effective configs are saved next to the results.
"""

from __future__ import annotations

import argparse
import json
import time
import traceback
from pathlib import Path
from typing import Any

import yaml

from benchmarks.forgetting import data
from benchmarks.forgetting.report import write_report
from benchmarks.forgetting.scoring import gsm8k_exact_match, multiple_choice_accuracy, perplexity, solution_nll
from benchmarks.forgetting.sizes import FULL, QUICK, Sizes

BASE_MODEL = "asset:smollm2-135m-instruct"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "forgetting"
METHODS: dict[str, str | None] = {
    "base": None,
    "sft": "sft.yaml",
    "lora": "lora.yaml",
    "talr": "talr.yaml",
    "flow": "flow.yaml",
    "context_free": "context_free.yaml",
}
SEED = 42


def effective_config(method: str, sizes: Sizes, dataset: Path, out: Path) -> Path:
    """The method's example config with this run's dataset, budget and output folder written over it."""
    raw = yaml.safe_load((EXAMPLES / str(METHODS[method])).read_text())
    raw.update(
        dataset=str(dataset),
        output_dir=str(out / "models" / method),
        max_steps=sizes.max_steps,
        per_device_train_batch_size=sizes.batch_size,
        max_length=sizes.max_length,
        seed=SEED,
    )
    for step in raw.get("data") or []:
        if step["name"] == "context_free":
            step["max_new_tokens"] = sizes.context_free_tokens
    path = out / "configs" / f"{method}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def train(config_path: Path) -> tuple[str, float]:
    """Train through hfplug's config pipeline; return the output folder and the seconds it took
    (data transforms included: FLOW's weights and the context-free samples are part of a method's cost)."""
    from hfplug.config import parse_train_config
    from hfplug.train import run_training

    start = time.perf_counter()
    result = run_training(parse_train_config(config_path))
    return result.output_dir, time.perf_counter() - start


def load_for_scoring(path: str) -> tuple[Any, Any]:
    """A trained model (LoRA adapters merged into the base) and its tokenizer, in eval mode."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if (Path(path) / "adapter_config.json").is_file():
        from peft import AutoPeftModelForCausalLM

        model = AutoPeftModelForCausalLM.from_pretrained(path).merge_and_unload()
    else:
        model = AutoModelForCausalLM.from_pretrained(path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    return model.eval(), tokenizer


def load_eval_data(sizes: Sizes) -> dict[str, Any]:
    gsm8k = data.gsm8k_test()
    truthfulqa = data.asset_rows("truthfulqa-mc1")[: sizes.multiple_choice]
    for item in truthfulqa:
        item["prompt"] = f"Q: {item['question']}\nA:"
    return {
        "gsm_generate": gsm8k[: sizes.gsm_generate],
        "gsm_nll": gsm8k[: sizes.gsm_nll],
        "hellaswag": data.asset_rows("hellaswag")[: sizes.multiple_choice],
        "truthfulqa": truthfulqa,
        "shakespeare": data.shakespeare_text(),
        "news": data.lee_news_text(),
    }


def score(model: Any, tokenizer: Any, sizes: Sizes, eval_data: dict[str, Any]) -> tuple[dict[str, float], dict]:
    """Every metric of the table, and the seconds each took (plus the GSM8K transcripts)."""
    seconds: dict[str, float] = {}
    batch = sizes.eval_batch_size

    def timed(name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        value = fn(*args, **kwargs)
        seconds[name] = round(time.perf_counter() - start, 1)
        return value

    exact, transcripts = timed(
        "gsm8k_exact_match",
        gsm8k_exact_match,
        model,
        tokenizer,
        eval_data["gsm_generate"],
        max_new_tokens=sizes.gsm_new_tokens,
        batch_size=batch,
    )
    window = {"windows": sizes.ppl_windows, "window_tokens": sizes.ppl_window_tokens, "batch_size": batch}
    scores = {
        "gsm8k_exact_match": exact,
        "gsm8k_solution_nll": timed(
            "gsm8k_solution_nll", solution_nll, model, tokenizer, eval_data["gsm_nll"], batch_size=batch
        ),
        "shakespeare_ppl": timed("shakespeare_ppl", perplexity, model, tokenizer, eval_data["shakespeare"], **window),
        "news_ppl": timed("news_ppl", perplexity, model, tokenizer, eval_data["news"], **window),
        "hellaswag_acc": timed(
            "hellaswag_acc",
            multiple_choice_accuracy,
            model,
            tokenizer,
            eval_data["hellaswag"],
            context_key="context",
            normalize=True,
            batch_size=batch,
        ),
        "truthfulqa_mc1_acc": timed(
            "truthfulqa_mc1_acc",
            multiple_choice_accuracy,
            model,
            tokenizer,
            eval_data["truthfulqa"],
            context_key="prompt",
            normalize=False,
            batch_size=batch,
        ),
    }
    return scores, {"seconds": seconds, "gsm8k_transcripts": transcripts}


def run_method(method: str, sizes: Sizes, dataset: Path, out: Path, eval_data: dict[str, Any]) -> dict[str, Any]:
    from hfplug.assets import resolve_model_path

    if METHODS[method] is None:
        model_path, train_seconds = resolve_model_path(BASE_MODEL), 0.0
    else:
        model_path, train_seconds = train(effective_config(method, sizes, dataset, out))
    model, tokenizer = load_for_scoring(model_path)
    start = time.perf_counter()
    scores, details = score(model, tokenizer, sizes, eval_data)
    return {
        "scores": scores,
        "train_seconds": round(train_seconds, 1),
        "eval_seconds": round(time.perf_counter() - start, 1),
        **details,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a pipeline check, not a result")
    parser.add_argument("--out", type=Path, help="output folder (default outputs/forgetting[-quick])")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset; base is always run")
    parser.add_argument("--prepare-data", action="store_true", help="only write the training data and exit")
    parser.add_argument(
        "--reuse", action="store_true", help="keep the saved result of every method that already succeeded in --out"
    )
    args = parser.parse_args(argv)

    sizes = QUICK if args.quick else FULL
    out = args.out or Path("outputs") / ("forgetting-quick" if args.quick else "forgetting")
    methods = ["base", *[m for m in args.methods.split(",") if m and m != "base"]]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        parser.error(f"unknown method(s) {unknown}; choose from {', '.join(METHODS)}")

    dataset = data.write_jsonl(data.math_training_rows(sizes.train_rows, seed=SEED), out / "gsm_symbolic_train.jsonl")
    print(f"training data: {dataset} ({sizes.train_rows} gsm_symbolic problems)")
    if args.prepare_data:
        return 0
    eval_data = load_eval_data(sizes)
    results: dict[str, dict[str, Any]] = {}
    started = time.perf_counter()
    for method in methods:
        print(f"=== {method} ===", flush=True)
        saved = out / "methods" / f"{method}.json"
        if args.reuse and saved.is_file():
            results[method] = json.loads(saved.read_text())
            print(f"reusing {saved}")
        else:
            try:
                results[method] = run_method(method, sizes, dataset, out, eval_data)
                saved.parent.mkdir(parents=True, exist_ok=True)
                saved.write_text(json.dumps(results[method], indent=2))
            except Exception as exc:  # one broken method must not hide the others' results; it is reported
                if method == "base":
                    raise
                traceback.print_exc()
                results[method] = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps({k: v for k, v in results[method].items() if k != "gsm8k_transcripts"}), flush=True)
        settings = {
            "sizes": sizes.__dict__,
            "quick": args.quick,
            "base_model": BASE_MODEL,
            "seed": SEED,
            "total_seconds": round(time.perf_counter() - started, 1),
        }
        write_report(results, settings, out)
    print((out / "results.md").read_text())
    print(f"total {time.perf_counter() - started:.0f} s; results in {out}")
    return 1 if any("error" in r for r in results.values()) else 0
