"""Evaluation for the compute-matched benchmark: HumanEval / MBPP pass@1 and Iter-k with bootstrap CIs.

Scoring is hfplug-code-exec's (``hfplug_code_exec.humaneval.evaluate``: hidden tests for scores,
public tests for the feedback of later attempts, reference-harness semantics), the same code as
``hfplug eval humaneval|mbpp --iterations k``. Only the generator is ours, so that a model in
memory can be scored in the middle of training without saving it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import torch

BOOTSTRAP_SAMPLES = 2000


def chat_generator(model: Any, tokenizer: Any, *, max_new_tokens: int, batch_size: int) -> Any:
    """Greedy ``generate(conversations) -> completions`` over an in-memory model (left padding)."""

    def generate(conversations: list[list[dict[str, str]]]) -> list[str]:
        was_training = model.training
        model.eval()
        side, tokenizer.padding_side = tokenizer.padding_side, "left"
        outputs: list[str] = []
        try:
            for start in range(0, len(conversations), batch_size):
                chunk = conversations[start : start + batch_size]
                texts = [tokenizer.apply_chat_template(c, tokenize=False, add_generation_prompt=True) for c in chunk]
                batch = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
                with torch.no_grad():
                    out = model.generate(
                        **batch, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id
                    )
                outputs += tokenizer.batch_decode(out[:, batch["input_ids"].shape[1] :], skip_special_tokens=True)
        finally:
            tokenizer.padding_side = side
            model.train(was_training)
        return outputs

    return generate


def score(model: Any, tokenizer: Any, problems: dict[str, list[dict[str, Any]]], pool: Any, settings: Any) -> dict:
    """pass@1 and iter@k per evaluation set, with per-problem outcomes for the bootstrap."""
    from hfplug_code_exec.humaneval import evaluate

    generate = chat_generator(model, tokenizer, max_new_tokens=settings.eval_max_new_tokens, batch_size=8)
    results = {}
    for name, rows in problems.items():
        summary = evaluate(rows, generate, pool, samples=1, attempts=settings.iterations, batch_size=16)
        solved_at = [p["solved_at"][0] for p in summary["per_problem"]]
        results[name] = {
            "pass@1": [float(s == 1) for s in solved_at],
            f"iter@{settings.iterations}": [float(s is not None) for s in solved_at],
        }
    return results


def bootstrap_ci(values: Sequence[float], seed: int = 0, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): percentile bootstrap over problems."""
    rng = random.Random(seed)
    n = len(values)
    means = sorted(sum(values[rng.randrange(n)] for _ in range(n)) / n for _ in range(BOOTSTRAP_SAMPLES))
    tail = (1 - level) / 2
    return sum(values) / n, means[int(tail * BOOTSTRAP_SAMPLES)], means[int((1 - tail) * BOOTSTRAP_SAMPLES) - 1]


def paired_difference_ci(a: Sequence[float], b: Sequence[float], seed: int = 0) -> tuple[float, float, float]:
    """Bootstrap CI of mean(b - a) over the same problems (paired)."""
    return bootstrap_ci([y - x for x, y in zip(a, b, strict=True)], seed=seed)
