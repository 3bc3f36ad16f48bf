"""Reward functions ``unit_tests`` and ``unit_tests_all`` with trl's ``reward_funcs`` signature.

The dataset follows HumanEval: columns ``test`` (defines ``check(candidate)``), ``entry_point``
and the code ``prompt`` (the function stub). When the trainer's prompt is a chat conversation,
put the stub in a ``code_prompt`` column. An optional ``public_test`` column (same format) is
used for feedback only. An infrastructure failure gives ``None``, which trl treats as "no
reward" for that sample, never as a score.
"""

from __future__ import annotations

from typing import Any

from hfplug_code_exec.extract import build_program
from hfplug_code_exec.pool import ExecutorPool, Job, shared_pool
from hfplug_code_exec.results import ExecutionResult


def _column(kwargs: dict[str, Any], name: str, size: int, required: bool = True) -> list[Any]:
    values = kwargs.get(name)
    if values is None:
        if required:
            raise ValueError(
                f"The unit_tests reward needs a dataset column {name!r} (HumanEval format: prompt, test, entry_point); "
                f"columns given: {sorted(kwargs)}."
            )
        return [None] * size
    if len(values) != size:
        raise ValueError(f"Column {name!r} has {len(values)} values for {size} completions.")
    return list(values)


def jobs_for(prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[Job]:
    """Build one :class:`Job` per completion from trl's reward arguments."""
    size = len(completions)
    tests = _column(kwargs, "test", size)
    entry_points = _column(kwargs, "entry_point", size)
    code_prompts = _column(kwargs, "code_prompt", size, required=False)
    public = _column(kwargs, "public_test", size, required=False)
    jobs = []
    for i in range(size):
        stub = code_prompts[i] if code_prompts[i] is not None else prompts[i] if isinstance(prompts[i], str) else ""
        program = build_program(stub, completions[i], entry_points[i])
        jobs.append(Job(program, tests[i], entry_points[i], prompt=stub, public_test=public[i] or None))
    return jobs


def execute(
    prompts: list[Any], completions: list[Any], pool: ExecutorPool | None = None, **kwargs: Any
) -> list[ExecutionResult]:
    """Run every completion against its tests (in parallel over the pool)."""
    return (pool or shared_pool()).run_many(jobs_for(prompts, completions, **kwargs))


def unit_tests(prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float | None]:
    """Fraction of the hidden unit tests each completion passes (None on infrastructure failure)."""
    return [
        None if r.status == "infrastructure_error" else r.pass_fraction for r in execute(prompts, completions, **kwargs)
    ]


def unit_tests_all(prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float | None]:
    """1.0 if a completion passes every hidden unit test, else 0.0 (None on infrastructure failure)."""
    return [
        None if r.status == "infrastructure_error" else float(r.all_passed)
        for r in execute(prompts, completions, **kwargs)
    ]
