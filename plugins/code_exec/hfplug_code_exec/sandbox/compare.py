"""How the judge compares values and outputs (stdlib only: runs inside the judge's sandbox).

* ``strict_equal``: equal values with identical types all the way down (``True`` is not ``1``,
  ``2.0`` is not ``2``); the default for training rewards, so a model cannot earn reward with a
  value of the wrong type.
* ``reference_equal``: Python's ``==`` on the decoded built-in values, which is what the reference
  harnesses (human-eval, MultiPL-E) do; the default of ``hfplug eval`` so that numbers compare.
* ``outputs_match``: standard-output comparison for stdin/stdout tasks.
"""

from __future__ import annotations

import math
from typing import Any

FLOAT_REL_TOL = 1e-6
FLOAT_ABS_TOL = 1e-6


def _is_approx(value: Any) -> bool:
    """``pytest.approx(...)`` (its classes live in ``_pytest``); only the tests can make one: the program's
    values reach the judge as built-in types."""
    kind = type(value)
    return kind.__name__.startswith("Approx") and kind.__module__.startswith("_pytest.")


def _close(actual: Any, expected: Any, rel: float, abs_tol: float) -> bool:
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and actual.keys() == expected.keys()
            and all(_close(actual[k], expected[k], rel, abs_tol) for k in expected)
        )
    if isinstance(expected, list | tuple):
        return (
            isinstance(actual, list | tuple)
            and len(actual) == len(expected)
            and all(_close(a, e, rel, abs_tol) for a, e in zip(actual, expected, strict=False))
        )
    if isinstance(expected, int | float | complex) and not isinstance(expected, bool):
        if not isinstance(actual, int | float | complex) or isinstance(actual, bool):
            return False
        if isinstance(expected, float) and math.isnan(expected):
            return isinstance(actual, float) and math.isnan(actual)
        return actual == expected or abs(actual - expected) <= max(rel * abs(expected), abs_tol)
    return actual == expected


def strict_equal(actual: Any, expected: Any) -> bool:
    """Equality with identical types at every level (``1 != 1.0 != True`` here)."""
    if _is_approx(expected):
        return bool(expected == actual)
    if _is_approx(actual):
        return bool(actual == expected)
    if type(actual) is not type(expected):
        return False
    if isinstance(actual, list | tuple):
        return len(actual) == len(expected) and all(strict_equal(a, e) for a, e in zip(actual, expected, strict=False))
    if isinstance(actual, dict):
        return actual.keys() == expected.keys() and all(strict_equal(actual[k], expected[k]) for k in actual)
    if isinstance(actual, float) and math.isnan(actual) and math.isnan(expected):
        return True
    return actual == expected


def reference_equal(actual: Any, expected: Any) -> bool:
    """Python's ``==``, as the reference harnesses evaluate ``assert candidate(x) == y``."""
    return actual == expected


def _tokens(text: str) -> list[str]:
    return text.split()


def _token_match(actual: str, expected: str) -> bool:
    if actual == expected:
        return True
    try:
        a, e = float(actual), float(expected)
    except ValueError:
        return False
    if math.isnan(a) or math.isnan(e):
        return math.isnan(a) and math.isnan(e)
    return math.isclose(a, e, rel_tol=FLOAT_REL_TOL, abs_tol=FLOAT_ABS_TOL)


def outputs_match(actual: str, expected: str) -> bool:
    """Standard output against the expected output, as APPS/TACO-style harnesses compare them.

    Whitespace is not significant (both are split into whitespace-separated tokens, so trailing
    spaces, blank lines and ``\\r\\n`` do not matter); tokens are equal as text, or both parse as
    numbers within a relative or absolute tolerance of 1e-6 (so ``0.5`` matches ``0.500000``).
    """
    got, want = _tokens(actual), _tokens(expected)
    return len(got) == len(want) and all(_token_match(a, e) for a, e in zip(got, want, strict=False))


def call_result_matches(actual: Any, expected: Any, strict: bool) -> bool:
    """A call-based stdio test (``fn_name``): the return value against ``outputs[i]``.

    As in APPS/TACO, ``outputs[i]`` may hold the value itself or the value wrapped in a one-element
    list; JSON has no tuples, so a returned tuple compares as a list. Non-strict, numbers compare within
    1e-6; strict, types must be identical and floats equal exactly (``strict_equal``).
    """
    actual = _lists(actual)
    candidates = [expected]
    if isinstance(expected, list) and len(expected) == 1:
        candidates.append(expected[0])
    equal = strict_equal if strict else reference_equal
    return any(equal(actual, c) or (not strict and _close(actual, c, FLOAT_REL_TOL, FLOAT_ABS_TOL)) for c in candidates)


def _lists(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_lists(v) for v in value]
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    return value
