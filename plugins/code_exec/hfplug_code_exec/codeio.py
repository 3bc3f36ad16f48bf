"""CodeIO (reasoning-gym's ``codeio.jsonl.gz``) as a training pool with tests.

Each row ships a reference ``main_solution`` and an ``input_generator(rng)``. Tests are made by
running both INSIDE THE SANDBOX (they are dataset code) on seeded inputs: the program's values
come back as data. A row is kept only if, twice and identically, every seed gives inputs and an
output that are plain JSON, the generator's keys are ``main_solution``'s parameters, and the
reference loads in the sandbox (which has numpy, scipy and sympy, read-only: ``sandbox_libraries``).
Rows overlapping HumanEval or MBPP (a 10-word run of text or a function name) are dropped.
"""

from __future__ import annotations

import ast
import gzip
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hfplug_code_exec.limits import ExecutionLimits
from hfplug_code_exec.pool import ExecutorPool, Job
from hfplug_code_exec.sandbox import wire

SEEDS = 5
DRIVER = """

def codeio_case_(seed):
    inputs = generate_inputs(Random(seed))
    return [inputs, main_solution(**inputs)]
"""
INSTRUCTION = (
    "Write a Python function `main_solution({params})` that solves this and returns the output described above. "
    "Answer with the whole function in a ```python block; you may use the standard library, numpy, scipy and sympy."
)
FILTER_COUNTS: Counter[str] = Counter()


def _parameters(code: str) -> list[str] | None:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "main_solution":
            return [a.arg for a in node.args.args]
    return None


def _prompt(row: dict[str, Any], params: list[str]) -> str:
    instruction = INSTRUCTION.format(params=", ".join(params))
    return f"{row['task_description']}\n\n{row['input_output_spec']}\n\n{instruction}"


def _plain_json(value: Any) -> bool:
    try:
        return json.loads(json.dumps(value, allow_nan=False)) == value
    except (TypeError, ValueError):
        return False


def _cases(result: Any) -> list[Any] | None:
    if result.reason or len(result.tests) != SEEDS or not all(t.passed for t in result.tests):
        return None
    try:
        return [wire.from_wire(json.loads(t.detail)) for t in result.tests]
    except ValueError:  # a value larger than the judge reports (100 000 characters): too big for a test
        return None


def codeio_rows(source: Path, *, limit: int | None = None, workers: int | None = None) -> Iterator[dict[str, Any]]:
    from hfplug_code_exec.task_sets import evaluation_fingerprints, overlaps_evaluation

    with gzip.open(source / "data" / "codeio.jsonl.gz", "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()][:limit]
    fingerprints = evaluation_fingerprints()
    FILTER_COUNTS.clear()
    FILTER_COUNTS["rows"] = len(rows)
    candidates = []
    for index, row in enumerate(rows):
        params = _parameters(row["code_sample"])
        if params is None:
            FILTER_COUNTS["no main_solution"] += 1
        elif overlaps_evaluation(row["task_description"], set(), fingerprints):
            FILTER_COUNTS["overlaps an evaluation set"] += 1
        else:
            candidates.append((index, row, params))
    calls = {"calls": [["codeio_case_", [seed]] for seed in range(SEEDS)]}
    jobs = [
        Job(
            row["code_sample"] + "\nfrom random import Random\n" + row["input_generator"] + DRIVER,
            calls,
            "codeio_case_",
            test_format="values",
        )
        for _, row, _ in candidates
    ]
    limits = ExecutionLimits(wall_time_s=5.0, test_time_s=2.0, cpu_time_s=5.0)
    with ExecutorPool(workers, limits) as pool:
        first, second = pool.run_many(jobs), pool.run_many(jobs)
    for (index, row, params), one, two in zip(candidates, first, second, strict=True):
        cases = _cases(one)
        if cases is None:
            FILTER_COUNTS["fails in the sandbox (errors, time, packages we lack)"] += 1
            continue
        if cases != _cases(two):
            FILTER_COUNTS["nondeterministic"] += 1
            continue
        if not all(
            (isinstance(inputs, dict) and list(inputs) == params) or set(inputs) == set(params) for inputs, _ in cases
        ):
            FILTER_COUNTS["generator keys are not the parameters"] += 1
            continue
        if not _plain_json(cases):
            FILTER_COUNTS["values that are not plain JSON"] += 1
            continue
        FILTER_COUNTS["kept"] += 1
        io = {
            "fn_name": "main_solution",
            "inputs": [[i[p] for p in params] for i, _ in cases],
            "outputs": [o for _, o in cases],
        }
        yield {
            "task_id": f"codeio/{index}",
            "prompt": [{"role": "user", "content": _prompt(row, params)}],  # conversational, as trl expects
            "input_output": json.dumps(io),
            "test_format": "stdio",
            "reference_solution": row["code_sample"],
        }
