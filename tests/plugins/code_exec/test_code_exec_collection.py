"""Which tests of a pytest-style module the judge collects, as pytest does: functions named ``test*``
and ``test*`` methods of ``Test*`` classes, one test per parametrized case; never helpers, fixtures,
data, skipped tests or methods of other classes. A helper or fixture counted as a test would pass for
any program (or fail for a right one) and move the reward."""

from __future__ import annotations

import pytest

from .conftest import LocalProgram

MODULE = """import pytest
from solution import add

test_cases = [(1, 2, 3), (5, 5, 10)]          # data named test_*: not a test
TestLimits = (0, 100)                         # data named Test*: not a test class


@pytest.fixture
def test_offset():                            # a fixture named test_*: runs for the tests that ask for it
    return 0


@pytest.fixture
def numbers():
    return (1, 2, 3)


def check_sum(a, b, expected):                # a helper: would fail if it ran as a test (it needs arguments)
    assert add(a, b) == expected


def helper_always_passes():
    pass


def _test_private():
    raise AssertionError("not a test: no test prefix")


@pytest.mark.parametrize("a, b, expected", test_cases)
def test_add(a, b, expected, test_offset):
    check_sum(a + test_offset, b, expected)


def test_numbers(numbers):
    assert add(*numbers[:2]) == numbers[2]


@pytest.mark.skip(reason="skipped tests are not collected")
def test_skipped():
    raise AssertionError("skipped")


class TestAdd:
    def helper(self):
        raise AssertionError("a helper method is not a test")

    def test_zero(self):
        assert add(0, 0) == 0


class Helpers:
    def test_not_collected(self):
        raise AssertionError("only Test* classes are collected")
"""

COLLECTED = ["test_add[a=1, b=2, expected=3]", "test_add[a=5, b=5, expected=10]", "test_numbers", "TestAdd::test_zero"]


def _sum(a, b):
    return a + b


def _difference(a, b):
    return a - b


def test_only_test_functions_methods_and_cases_are_collected(run_suite, judge_modules):
    _, outcomes = run_suite({"format": "pytest", "test": MODULE}, LocalProgram(judge_modules.judge, add=_sum))
    assert [outcome["source"] for outcome in outcomes] == COLLECTED
    assert [outcome["status"] for outcome in outcomes] == ["passed"] * len(COLLECTED)


def test_a_wrong_program_passes_none_of_the_collected_tests(run_suite, judge_modules):
    _, outcomes = run_suite({"format": "pytest", "test": MODULE}, LocalProgram(judge_modules.judge, add=_difference))
    # add(0, 0) == 0 holds for the difference too; every other test fails.
    assert [outcome["status"] for outcome in outcomes] == ["failed", "failed", "failed", "passed"]


def test_a_module_with_no_test_is_refused(run_suite, judge_modules):
    spec_error = judge_modules.judge.SpecError
    only_helpers = "import pytest\n\n@pytest.fixture\ndef test_data():\n    return 1\n\ndef helper():\n    pass\n"
    with pytest.raises(spec_error, match="no test_\\* function"):
        run_suite({"format": "pytest", "test": only_helpers}, LocalProgram(judge_modules.judge, add=_sum))
