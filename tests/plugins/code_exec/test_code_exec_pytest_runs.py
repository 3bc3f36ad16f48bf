"""How the judge runs the pytest-style tests it collected, against what real pytest 9.2 does with the same module
beside a ``solution.py`` (each module below was checked that way): the judge's equality reaches the asserts, a
``setup_method`` with or without its method argument, a generator fixture asked for by another fixture set up and
torn down around the test, the module named ``test_solution``, and a run that ends inside a test."""

from __future__ import annotations

from .conftest import LocalProgram


def _add(a, b):
    return a + b


def _statuses(outcomes) -> list[str]:
    return [outcome["status"] for outcome in outcomes]


def test_strict_types_reach_the_asserts_of_pytest_tests(run_suite, judge_modules):
    """``3.0 == 3`` holds for Python (and pytest); training's strict equality refuses the float."""
    module = "from solution import add\n\ndef test_add():\n    assert add(1, 2) == 3\n"
    floats = LocalProgram(judge_modules.judge, add=lambda a, b: float(a + b))
    _, strict = run_suite({"format": "pytest", "test": module}, floats, strict=True)
    _, reference = run_suite({"format": "pytest", "test": module}, floats, strict=False)
    assert (_statuses(strict), _statuses(reference)) == (["failed"], ["passed"])


FIXTURES_AND_SET_UP = """import pytest
from solution import add

ORDER = []


class TestPlainSetUp:
    def setup_method(self):                       # pytest calls it without the method when it takes none
        self.base = 5

    def test_base(self):
        assert add(self.base, 0) == 5


@pytest.fixture
def inner():
    ORDER.append("inner set up")
    yield 1
    ORDER.append("inner torn down")


@pytest.fixture
def outer(inner):                                 # a plain fixture that asks for a generator fixture
    return inner + 1


def test_uses_outer(outer):
    assert add(outer, 0) == 2


def test_after():
    assert ORDER == ["inner set up", "inner torn down"]


class Box:
    pass


def test_module_name():
    assert __name__ == "test_solution" and Box.__module__ == "test_solution"
"""


def test_set_up_methods_nested_fixtures_and_the_module_name_are_as_in_pytest(run_suite, judge_modules):
    _, outcomes = run_suite(
        {"format": "pytest", "test": FIXTURES_AND_SET_UP}, LocalProgram(judge_modules.judge, add=_add)
    )
    by_source = {outcome["source"]: outcome["status"] for outcome in outcomes}
    assert by_source == {
        "TestPlainSetUp::test_base": "passed",
        "test_uses_outer": "passed",
        "test_after": "passed",
        "test_module_name": "passed",
    }


def test_a_run_that_ends_inside_a_pytest_test_fails_that_test_and_leaves_the_rest(run_suite, judge_modules):
    judge = judge_modules.judge

    def add(a, b):
        if a == 2:
            raise judge.RunAborted("ended")
        return a + b

    module = (
        "from solution import add\n\n"
        "def test_one():\n    assert add(1, 1) == 2\n\n"
        "def test_two():\n    assert add(2, 2) == 4\n\n"
        "def test_three():\n    assert add(3, 3) == 6\n"
    )
    _, outcomes = run_suite({"format": "pytest", "test": module}, LocalProgram(judge, add=add))
    assert _statuses(outcomes) == ["passed", "failed", "not_run"]
    assert outcomes[1]["error_type"] == "ended"
