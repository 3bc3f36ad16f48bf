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


SHAPES = """import pytest
from solution import add


@pytest.mark.parametrize("a", [1, 2])
@pytest.mark.slow                                 # comes before parametrize in the function's marks
def test_marked_then_parametrized(a):
    assert add(0, a) == a


@pytest.mark.parametrize(("a", "b"), [(1, 2)])    # names as a tuple
def test_names_as_a_tuple(a, b):
    assert add(a, b) == 3


@pytest.mark.parametrize(["a", "b"], [(2, 2)])    # names as a list
def test_names_as_a_list(a, b):
    assert add(a, b) == 4


@pytest.mark.parametrize("mapping", [{"x": 1, "y": 2}])   # a dict has .values, yet it is one value
def test_a_dict_value(mapping):
    assert add(mapping["x"], mapping["y"]) == 3


@pytest.mark.parametrize("text", ["x" * 100])
def test_long(text):
    assert add(text, "") == text


class TestWithAFixture:
    @pytest.fixture
    def test_data(self):                          # a fixture method named test_*: not a test
        return (1, 2)

    def test_add(self):
        assert add(1, 2) == 3
"""

# Real pytest 9.2 collects the same tests from SHAPES (checked on a copy beside a solution.py, every test passing);
# the judge names a case by its parameters, each value's repr cut to 80 characters.
SHAPES_COLLECTED = [
    "test_marked_then_parametrized[a=1]",
    "test_marked_then_parametrized[a=2]",
    "test_names_as_a_tuple[a=1, b=2]",
    "test_names_as_a_list[a=2, b=2]",
    "test_a_dict_value[mapping={'x': 1, 'y': 2}]",
    "test_long[text=" + repr("x" * 100)[:77] + "...]",
    "TestWithAFixture::test_add",
]


def test_parametrize_shapes_and_class_fixtures_are_collected_as_pytest_does(run_suite, judge_modules):
    _, right = run_suite({"format": "pytest", "test": SHAPES}, LocalProgram(judge_modules.judge, add=_sum))
    assert [outcome["source"] for outcome in right] == SHAPES_COLLECTED
    assert [outcome["status"] for outcome in right] == ["passed"] * len(SHAPES_COLLECTED)
    # a fixture method collected as a test would pass for any program (or fail a right one)
    _, wrong = run_suite({"format": "pytest", "test": SHAPES}, LocalProgram(judge_modules.judge, add=_difference))
    assert [outcome["status"] for outcome in wrong] == ["failed"] * len(SHAPES_COLLECTED)


def test_a_parametrize_case_of_the_wrong_length_is_refused_as_pytest_refuses_it(run_suite, judge_modules):
    """pytest stops at collection ("the number of names (2) must be equal to the number of values (3)"):
    cutting the case to fit would run a test the dataset did not write."""
    module = (
        "import pytest\nfrom solution import add\n\n"
        "@pytest.mark.parametrize('a, b', [(1, 2, 3)])\ndef test_add(a, b):\n    assert add(a, b) == 3\n"
    )
    with pytest.raises(judge_modules.judge.SpecError, match=r"test_add: parametrize has 2 names \['a', 'b'\]"):
        run_suite({"format": "pytest", "test": module}, LocalProgram(judge_modules.judge, add=_sum))
