"""The grading guards of test_code_exec_collection.py, test_code_exec_call_results.py and
test_code_exec_verdicts.py, end to end through the sandbox: a fixture named like a test is not a test,
a call-based answer that is part of the expected list fails, and a job with no hidden test is not
passed. (Those files run the judge in-process, where mutation testing can reach it; the sandbox hides
site-packages, so a mutated judge cannot run in it.)"""

from __future__ import annotations

import json

from hfplug_code_exec.pool import Job
from hfplug_code_exec.rewards import execute, unit_tests, unit_tests_all

FIXTURE_NAMED_LIKE_A_TEST = """import pytest
from solution import add


@pytest.fixture
def test_pairs():
    return [(1, 2, 3), (5, 5, 10)]


def test_add(test_pairs):
    for a, b, expected in test_pairs:
        assert add(a, b) == expected
"""


def test_a_fixture_named_like_a_test_earns_a_wrong_program_nothing(pool):
    """Through the sandbox: before the fix the fixture counted as a passing test, so a wrong program
    scored 0.5 on this row."""
    right, wrong = execute(
        ["p", "p"],
        ["def add(a, b):\n    return a + b\n", "def add(a, b):\n    return a - b\n"],
        pool=pool,
        test=[FIXTURE_NAMED_LIKE_A_TEST] * 2,
    )
    assert (right.status, right.passed, right.total) == ("passed", 1, 1)
    assert (wrong.status, wrong.passed, wrong.total, wrong.pass_fraction) == ("failed", 0, 1, 0.0)


def test_a_program_returning_part_of_a_list_answer_fails_through_the_sandbox(pool):
    pairs = {"fn_name": "pair", "inputs": [[1, 2], [5, 5]], "outputs": [[[1, 2]], [[5, 5]]]}
    rows = {"input_output": [json.dumps(pairs)] * 3}
    programs = [
        "def pair(a, b):\n    return (a, b)\n",
        "def pair(a, b):\n    return a\n",
        "def pair(a, b):\n    return [a]\n",
    ]
    right, first, prefix = execute(["p"] * 3, programs, pool=pool, **rows)
    assert (right.status, right.passed, right.total) == ("passed", 2, 2)
    assert (first.passed, prefix.passed) == (0, 0) and first.status == prefix.status == "failed"


def test_a_job_without_hidden_tests_is_not_passed(pool):
    """Past the dataset's check (a job made by hand): the judge runs no hidden test, and that is a failure."""
    job = Job(
        program="def f(x):\n    return x\n",
        test={"inputs": [], "outputs": [], "fn_name": "f"},
        entry_point="f",
        public_test={"inputs": [[1]], "outputs": [1], "fn_name": "f"},
        test_format="stdio",
    )
    result = pool.run(job)
    assert [t.visibility for t in result.tests] == ["public"] and result.tests[0].passed
    assert (result.status, result.total, result.pass_fraction) == ("failed", 0, 0.0)
    assert (unit_tests.score(result), unit_tests_all.score(result)) == (0.0, 0.0)
