"""``solution`` as pytest-style tests import it: a module named ``solution`` (not a package) whose ``import *`` gives
the program's public names, as Python's does for a module without ``__all__`` (no ``_private`` names), except
names of built-ins: a program could otherwise replace the ``all`` or ``len`` the tests check with."""

from __future__ import annotations

from .conftest import LocalProgram

MODULE = """_private = "the tests' own"
from solution import *
import solution


def test_add():
    assert all([add(1, 1) == 2, add(2, 3) == 5])


def test_private_names_are_not_imported():
    assert _private == "the tests' own"


def test_the_module():
    assert solution.__name__ == "solution" and not hasattr(solution, "__path__")
"""


def _always_true(values):
    return True


def test_import_star_gives_public_names_and_no_built_in_of_the_program(run_suite, judge_modules):
    spec = {"format": "pytest", "test": MODULE}
    right = LocalProgram(judge_modules.judge, add=lambda a, b: a + b, all=_always_true, _private=lambda: 0)
    wrong = LocalProgram(judge_modules.judge, add=lambda a, b: a - b, all=_always_true, _private=lambda: 0)
    _, right_outcomes = run_suite(spec, right)
    _, wrong_outcomes = run_suite(spec, wrong)
    assert [outcome["status"] for outcome in right_outcomes] == ["passed", "passed", "passed"]
    assert [outcome["status"] for outcome in wrong_outcomes] == ["failed", "passed", "passed"]
