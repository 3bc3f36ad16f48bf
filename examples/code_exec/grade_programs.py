"""Grade a few programs (right, wrong, hostile) in the sandboxed pool and show what a model would see.

python examples/code_exec/grade_programs.py
"""

from __future__ import annotations

from hfplug_code_exec import ExecutorPool, Job, unit_tests
from hfplug_code_exec.humaneval import load_problems, public_test_from_docstring

problem = load_problems()[0]  # HumanEval/0, has_close_elements
public = public_test_from_docstring(problem["prompt"], problem["entry_point"])
candidates = {
    "canonical": problem["canonical_solution"],
    "wrong": "    return True\n",
    "infinite loop": "    while True:\n        pass\n",
    "exits before the tests": "    import os\n    os._exit(0)\n",
    "forges __eq__": "    class Yes:\n        def __eq__(self, other):\n            return True\n    return Yes()\n",
}

with ExecutorPool(workers=2) as pool:
    print(f"isolation: {pool.isolation}\n")
    jobs = [
        Job(
            problem["prompt"] + body,
            problem["test"],
            problem["entry_point"],
            prompt=problem["prompt"],
            public_test=public,
        )
        for body in candidates.values()
    ]
    for name, result in zip(candidates, pool.run_many(jobs), strict=True):
        print(f"== {name}: {result.status} ({result.passed}/{result.total}, reason: {result.reason or '-'})")
        print(result.feedback, "\n")

    # The reward functions take trl's arguments; `pool=` is optional (a shared pool is made otherwise).
    rewards = unit_tests(
        [problem["prompt"]] * 2,
        ["    return False\n", problem["canonical_solution"]],
        test=[problem["test"]] * 2,
        entry_point=[problem["entry_point"]] * 2,
        pool=pool,
    )
    print("unit_tests rewards:", rewards)
