"""The part of pytest that test files of code datasets use, for the judge (stdlib only).

KodCode- and LeetCode-style tests ``import pytest`` for ``mark.parametrize``, ``raises``,
``approx`` and ``fixture``; the judge's sandbox has no site-packages, so this module stands in
for ``pytest`` there. Anything else a test file asks of pytest raises an error naming it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from compare import Approx

approx = Approx


class ParameterSet:
    """``pytest.param(*values, id=..., marks=...)``."""

    def __init__(self, values: tuple, marks: Any = ()) -> None:
        self.values = values
        self.marks = marks


def param(*values: Any, id: str | None = None, marks: Any = ()) -> ParameterSet:
    return ParameterSet(values, marks)


class _Mark:
    def __init__(self, name: str, args: tuple, kwargs: dict) -> None:
        self.name, self.args, self.kwargs = name, args, kwargs

    def __call__(self, function: Callable) -> Callable:
        function.__dict__.setdefault("pytestmark", []).append(self)
        return function


class _MarkFactory:
    def __getattr__(self, name: str) -> Callable[..., Any]:
        def make(*args: Any, **kwargs: Any) -> Any:
            if name != "parametrize" and len(args) == 1 and callable(args[0]) and not kwargs:
                return _Mark(name, (), {})(args[0])  # bare ``@pytest.mark.slow``
            return _Mark(name, args, kwargs)

        return make


mark = _MarkFactory()


class SkipTest(BaseException):
    """``pytest.skip()``: the test is not counted as passed."""


def skip(reason: str = "", **_: Any) -> None:
    raise SkipTest(reason)


def fail(reason: str = "", **_: Any) -> None:
    raise AssertionError(reason or "pytest.fail()")


class _RaisesContext:
    def __init__(self, expected: Any, match: str | None) -> None:
        self.expected, self.match, self.value, self.type = expected, match, None, None

    def __enter__(self) -> _RaisesContext:
        return self

    def __exit__(self, kind: Any, value: Any, _tb: Any) -> bool:
        if kind is None:
            raise AssertionError(f"DID NOT RAISE {self.expected}")
        if not issubclass(kind, self.expected):
            return False
        if self.match is not None and not re.search(self.match, str(value)):
            raise AssertionError(f"Regex pattern {self.match!r} does not match {str(value)!r}.")
        self.value, self.type = value, kind
        return True


def raises(expected: Any, *args: Any, match: str | None = None, **kwargs: Any) -> Any:
    """``with pytest.raises(E, match=...)`` or ``pytest.raises(E, f, *args)``."""
    context = _RaisesContext(expected, match)
    if args:
        with context:
            args[0](*args[1:], **kwargs)
        return context
    return context


def fixture(function: Callable | None = None, **options: Any) -> Any:
    """``@pytest.fixture`` (function scope; a generator fixture's teardown runs after the test)."""

    def mark_fixture(f: Callable) -> Callable:
        f.__dict__["_judge_fixture"] = options.get("name", f.__name__)
        return f

    return mark_fixture(function) if function is not None else mark_fixture


def __getattr__(name: str) -> Any:
    raise AttributeError(f"pytest.{name} is not supported by the judge (only mark, raises, approx, fixture, param)")
