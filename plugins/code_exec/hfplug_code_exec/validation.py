"""Whether every task of a dataset can be graded, found by parsing only: ``unit_tests.validate``.

A trainer calls it on the whole training set before generating anything (see
``hfplug.feedback``), so a row without tests or with tests the judge would refuse fails in
seconds, naming the row, instead of hours into training. It reads the same columns as grading
(:func:`hfplug_code_exec.formats.row_tests`: format detected, tests present, ``input_output``
JSON well formed) and then checks, with :mod:`ast` only, what the judge would otherwise find out
in its sandbox: the tests parse and define something to run. Nothing from the dataset is
executed here: tests and prompts are untrusted code, run only by the judge in its sandbox.

The checks are deliberately loose where a test could be made at run time (a ``test_*`` name
bound by assignment counts): refusing a gradable dataset would be worse than letting the judge
report the rare malformed row as a zero score.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from typing import Any

from hfplug.errors import DatasetError
from hfplug_code_exec.formats import RowTests, row_name, row_tests, table_rows


def validate_rows(prompts: Sequence[Any], *, test_format: Any = None, strict_types: Any = None, **columns: Any) -> None:
    """Raise :class:`DatasetError` naming the first row whose tests could never be graded.

    Takes trl's reward arguments without completions (the dataset's columns); ``strict_types``
    is accepted and ignored (it changes comparisons, not what can be graded).
    """
    size = len(prompts)
    rows, forced = table_rows(prompts, size, columns, test_format)
    for index, row in enumerate(rows):
        where = row_name(columns, index, numbered=size > 1)
        check_tests(row_tests(prompts[index], row, where, forced), where)


def check_tests(tests: RowTests, where: str) -> None:
    """The parse-only checks of one row's hidden and public tests."""
    check = _CHECKS.get(tests.kind)
    if check is None:
        return
    check(tests.test, tests, f"{where}: the {tests.kind} tests")
    if tests.public is not None:
        check(tests.public, tests, f"{where}: the public {tests.kind} tests")


def _parse(source: Any, what: str) -> ast.Module:
    if not isinstance(source, str):
        raise DatasetError(f"{what} must be Python source text, got {type(source).__name__}.")
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
        raise DatasetError(f"{what}: not valid Python ({type(error).__name__}: {error}).") from None


def _check_humaneval(test: Any, tests: RowTests, what: str) -> None:
    if not tests.entry_point.isidentifier():
        raise DatasetError(f"{what}: entry_point {tests.entry_point!r} is not a function name.")
    tree = _parse(test, what)
    checks = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "check"]
    if not checks:
        raise DatasetError(f"{what} define no function check(candidate).")
    check = checks[-1]
    if not check.args.args:
        raise DatasetError(f"{what}: check must take the candidate function as its first argument.")
    # The function under test is check's parameter or, as HumanEval allows, its own name anywhere.
    parameter = check.args.args[0].arg
    asserts = any(isinstance(n, ast.Assert | ast.Raise) for n in ast.walk(tree))
    uses_candidate = any(isinstance(n, ast.Name) and n.id == parameter for n in ast.walk(check)) or any(
        isinstance(n, ast.Name) and n.id == tests.entry_point for n in ast.walk(tree)
    )
    if not (asserts and uses_candidate):
        raise DatasetError(f"{what}: check(candidate) tests nothing (no assert on the candidate).")


def _check_mbpp(test: Any, tests: RowTests, what: str) -> None:
    if tests.setup:
        _parse(tests.setup, f"{what}: test_imports and test_setup_code")
    for index, statement in enumerate(test):
        _parse(statement, f"{what}: statement {index} ({_shorten(statement)})")
    if not tests.entry_point:
        raise DatasetError(f"{what} call no function to test.")


def _check_pytest(test: Any, tests: RowTests, what: str) -> None:
    tree = _parse(test, what)
    if not any(_collectable(node) for node in tree.body):
        raise DatasetError(f"{what} define no test_* function or Test* class with test methods.")


def _collectable(node: ast.stmt) -> bool:
    """A top-level statement that gives pytest-style tests (a name bound at run time counts)."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return node.name.startswith("test")
    if isinstance(node, ast.ClassDef):
        return node.name.startswith("Test") and any(
            isinstance(m, ast.FunctionDef | ast.AsyncFunctionDef | ast.Assign) for m in node.body
        )
    if isinstance(node, ast.Assign):
        return any(isinstance(t, ast.Name) and t.id.startswith("test") for t in node.targets)
    return False


def _shorten(text: Any, limit: int = 60) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


_CHECKS = {"humaneval": _check_humaneval, "mbpp": _check_mbpp, "pytest": _check_pytest}
"""stdio needs nothing beyond :func:`row_tests`, which already parsed its JSON."""
