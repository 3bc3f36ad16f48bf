"""A HumanEval/MultiPL-E test module as the reference harnesses run it: its module-level set-up runs once, its own
call of ``check`` (MultiPL-E's ``test_check()``) is left to the judge so every test runs exactly once, and a helper
that only computes (no assert) does not make a test of its own."""

from __future__ import annotations

from .conftest import LocalProgram

MULTIPL_E = """import random

random.seed(7)
CASES = []
CASES.append((1, 2, 3))


def check(candidate):
    for a, b, expected in CASES:
        assert candidate(a, b) == expected
    assert random.random() == EXPECTED_DRAW


def test_check():
    check(add)


test_check()
check(add)
"""


def test_module_set_up_runs_and_each_test_runs_once(run_suite, judge_modules):
    """MultiPL-E's harness runs the file once: set-up calls (``random.seed``, ``CASES.append``) run, and ``check``
    runs once. The judge makes the one call of ``check`` itself, so the file's own calls must not run."""
    import random

    random.seed(7)
    helpers = f"EXPECTED_DRAW = {random.random()!r}\n"  # what the seeded generator gives first, as in the file
    calls = []

    def add(a, b):
        calls.append((a, b))
        return a + b

    spec = {"format": "humaneval", "test": MULTIPL_E, "helpers": helpers}
    _, outcomes = run_suite(spec, LocalProgram(judge_modules.judge, add=add), entry_point="add")
    assert [outcome["status"] for outcome in outcomes] == ["passed", "passed"]
    assert calls == [(1, 2)]
    # With CASES.append dropped, the loop would check nothing and pass for any program.
    _, wrong = run_suite(spec, LocalProgram(judge_modules.judge, add=lambda a, b: a - b), entry_point="add")
    assert [outcome["status"] for outcome in wrong] == ["failed", "passed"]


COMPUTING_HELPER = """def check(candidate):
    def doubled(x):
        return 2 * candidate(x, x)
    value = doubled(1)
    assert value == 4
"""


def test_a_helper_that_asserts_nothing_does_not_close_a_test(run_suite, judge_modules):
    """``value = doubled(1)`` only computes: it belongs to the test its assert closes, so a wrong program that
    raises nothing still passes no test (were the call a test of its own, it would pass one of two)."""
    spec = {"format": "humaneval", "test": COMPUTING_HELPER}
    _, right = run_suite(spec, LocalProgram(judge_modules.judge, add=lambda a, b: a + b), entry_point="add")
    _, wrong = run_suite(spec, LocalProgram(judge_modules.judge, add=lambda a, b: a - b), entry_point="add")
    assert [outcome["source"] for outcome in right] == ["value = doubled(1)\nassert value == 4"]
    assert ([outcome["status"] for outcome in right], [outcome["status"] for outcome in wrong]) == (
        ["passed"],
        ["failed"],
    )
