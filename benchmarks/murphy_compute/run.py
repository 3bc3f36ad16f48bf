"""Murphy vs GRPO at equal generated tokens, on offline code tasks, scored on HumanEval and MBPP.

python -m benchmarks.murphy_compute --quick   # SmolLM2-135M-Instruct, small subsets: minutes
python -m benchmarks.murphy_compute           # Qwen2.5-Coder-0.5B-Instruct (opt-in asset): hours on a CPU

Both methods start from the same base model, train on the same LeetCode tasks (``asset:leetcode``
of hfplug-code-exec, Easy problems, disjoint from the evaluation sets) with the same reward
(``unit_tests``), learning rate and group size, and stop at the first step at or past the same
number of generated tokens. Along the way (``--checkpoints``) both are scored: pass@1 (greedy)
and Iter-k (k attempts, each after public-test feedback), with bootstrap CIs over problems and
a paired CI of the difference. Nothing is tuned: every setting below is fixed in advance and
shared by both methods.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

# A pipeline check in minutes, not a result: SmolLM2-135M solves almost nothing, and 10 problems per set
# give intervals as wide as the scale. Generation dominates (about 50 tokens/s batched on 2 CPU cores).
QUICK = {
    "model": "asset:smollm2-135m-instruct",
    "train_tasks": 32,
    "max_completion_length": 128,
    "token_budget": 4000,
    "checkpoints": 1,  # base, then each method at the budget: three evaluations in all
    "eval_limit": 10,
    "eval_max_new_tokens": 160,
}


@dataclass
class Settings:
    model: str = "asset:qwen2.5-coder-0.5b-instruct"
    train_set: str = "asset:leetcode"
    difficulty: str = "Easy"
    train_tasks: int = 200
    tasks_per_step: int = 2
    num_generations: int = 4
    max_completion_length: int = 384
    max_turns: int = 2
    learning_rate: float = 2e-6
    token_budget: int = 200_000
    checkpoints: int = 4
    eval_sets: tuple[str, ...] = ("humaneval", "mbpp")
    eval_limit: int | None = None
    eval_max_new_tokens: int = 384
    iterations: int = 3
    seed: int = 0
    output: str = "outputs/murphy_compute"


def parse_args() -> Settings:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="SmolLM2-135M, 10 problems a set: a pipeline check")
    defaults = Settings()
    for name, value in asdict(defaults).items():
        if name == "eval_sets":
            parser.add_argument("--eval-sets", default=None, help="comma-separated (humaneval,mbpp)")
        else:
            kind = type(value) if value is not None else int
            parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=None)
    args = parser.parse_args()
    settings = replace(defaults, **QUICK) if args.quick else defaults
    overrides = {k: v for k, v in vars(args).items() if k != "quick" and v is not None}
    if "eval_sets" in overrides:
        overrides["eval_sets"] = tuple(overrides["eval_sets"].split(","))
    return replace(settings, **overrides)


def training_tasks(settings: Settings) -> Any:
    from hfplug.datasets_io import load_split

    rows = load_split(settings.train_set, config=None, split="train")
    if settings.difficulty and "difficulty" in rows.column_names:
        rows = rows.filter(lambda row: row["difficulty"] == settings.difficulty)
    rows = rows.shuffle(seed=settings.seed).select(range(min(settings.train_tasks, len(rows))))
    if isinstance(rows[0]["prompt"], str):  # plain-text tasks: ask them as a chat turn
        rows = rows.map(lambda row: {"prompt": [{"role": "user", "content": row["prompt"]}]})
    return rows


def evaluation_problems(settings: Settings) -> dict[str, list[dict[str, Any]]]:
    from hfplug_code_exec.humaneval import load_task_set

    return {name: load_task_set(name, settings.eval_limit) for name in settings.eval_sets}


def train_one(method: str, settings: Settings, tasks: Any, problems: Any, pool: Any) -> dict[str, Any]:
    """Train ``method`` from the base model up to the token budget, scoring at each checkpoint."""
    from hfplug_murphy import MurphyConfig, MurphyTrainer

    import hfplug
    from benchmarks.murphy_compute.budget import CountingGRPOTrainer, TokenBudget, generated_tokens
    from benchmarks.murphy_compute.evaluation import score
    from hfplug.models import load_causal_lm

    model, tokenizer = load_causal_lm(settings.model)
    shared = {
        "output_dir": f"{settings.output}/{method}",
        "num_generations": settings.num_generations,
        "per_device_train_batch_size": settings.tasks_per_step * settings.num_generations,
        "max_completion_length": settings.max_completion_length,
        "learning_rate": settings.learning_rate,
        "max_steps": 10_000,  # the token budget stops training
        "logging_steps": 1,
        "save_strategy": "no",
        "report_to": "none",
        "bf16": False,
        "activation_checkpointing": False,
        "use_cpu": True,
        "seed": settings.seed,
    }
    unit_tests = hfplug.load("reward", "unit_tests")
    if method == "murphy":
        args = MurphyConfig(**shared, max_turns=settings.max_turns)
        trainer = MurphyTrainer(model, [unit_tests], args=args, train_dataset=tasks, processing_class=tokenizer)
    else:
        from trl import GRPOConfig

        args = GRPOConfig(**shared)
        trainer = CountingGRPOTrainer(model, [unit_tests], args=args, train_dataset=tasks, processing_class=tokenizer)
    curve: list[dict[str, Any]] = []

    def evaluate(tokens: int, step: int) -> None:
        curve.append(
            {"generated_tokens": tokens, "step": step, "scores": score(model, tokenizer, problems, pool, settings)}
        )
        print(f"[{method}] {tokens} tokens, step {step}: {summarise(curve[-1]['scores'])}", flush=True)

    budget = TokenBudget(settings.token_budget, settings.checkpoints, evaluate)
    budget.trainer = trainer
    trainer.add_callback(budget)
    started, cpu = time.monotonic(), time.process_time()
    trainer.train()
    if not curve or curve[-1]["generated_tokens"] != generated_tokens(trainer):
        evaluate(generated_tokens(trainer), trainer.state.global_step)
    return {
        "curve": curve,
        "generated_tokens": generated_tokens(trainer),
        "steps": trainer.state.global_step,
        "wall_seconds": time.monotonic() - started,
        "cpu_seconds": time.process_time() - cpu,
        "log_history": trainer.state.log_history,
    }


def summarise(scores: dict[str, dict[str, list[float]]]) -> str:
    return ", ".join(f"{s} {m} {sum(v) / len(v):.3f}" for s, metrics in scores.items() for m, v in metrics.items())


def main() -> int:
    from hfplug_code_exec.pool import ExecutorPool

    from benchmarks.murphy_compute.evaluation import score
    from benchmarks.murphy_compute.report import write_report
    from hfplug.models import load_causal_lm

    settings = parse_args()
    out = Path(settings.output)
    out.mkdir(parents=True, exist_ok=True)
    tasks = training_tasks(settings)
    problems = evaluation_problems(settings)
    print(f"{len(tasks)} training tasks; evaluation: {', '.join(f'{k} {len(v)}' for k, v in problems.items())}")
    started, cpu = time.monotonic(), time.process_time()
    with ExecutorPool() as pool:
        base_model, tokenizer = load_causal_lm(settings.model)
        base = score(base_model, tokenizer, problems, pool, settings)
        print(f"[base] {summarise(base)}", flush=True)
        del base_model
        results = {"settings": asdict(settings), "base": base}
        for method in ("grpo", "murphy"):
            results[method] = train_one(method, settings, tasks, problems, pool)
            (out / "results.json").write_text(json.dumps(results, indent=2, default=str))
    results["wall_seconds"] = time.monotonic() - started
    results["main_process_cpu_seconds"] = time.process_time() - cpu
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str))
    print(write_report(results, out))
    return 0
