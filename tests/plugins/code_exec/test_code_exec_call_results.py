"""Call-based stdio tests (``fn_name``): the returned value against ``outputs[i]``, as the README states
it. ``outputs[i]`` is the value itself or the value wrapped in a one-element list (one level only);
JSON has no tuples, so a returned tuple is a list; with ``strict_types=False`` numbers compare within
1e-6 (relative or absolute) and by Python's ``==`` otherwise; with strict types (the training default)
types must be identical all the way down and floats equal exactly. A wrong answer never passes."""

from __future__ import annotations

import math

import pytest
from hfplug_code_exec.sandbox.compare import call_result_matches
from hypothesis import example, given
from hypothesis import strategies as st

from .conftest import LocalProgram

TOLERANCE = 1e-6


def _listed(value):
    """Tuples as lists, at every depth (what JSON can hold)."""
    if isinstance(value, list | tuple):
        return [_listed(item) for item in value]
    if isinstance(value, dict):
        return {key: _listed(item) for key, item in value.items()}
    return value


def _identical(actual, expected) -> bool:
    if type(actual) is not type(expected):
        return False
    if isinstance(expected, list):
        return len(actual) == len(expected) and all(map(_identical, actual, expected))
    if isinstance(expected, dict):
        return actual.keys() == expected.keys() and all(_identical(actual[k], expected[k]) for k in expected)
    return actual == expected


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _near(actual, expected) -> bool:
    if isinstance(expected, list):
        return isinstance(actual, list) and len(actual) == len(expected) and all(map(_near, actual, expected))
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and actual.keys() == expected.keys()
            and all(_near(actual[k], expected[k]) for k in expected)
        )
    if _is_number(expected):
        return _is_number(actual) and abs(actual - expected) <= max(TOLERANCE * abs(expected), TOLERANCE)
    return actual == expected


def _expected_verdict(actual, expected, strict: bool) -> bool:
    """The README's rule, written out independently of the judge's code."""
    actual = _listed(actual)
    forms = [expected] + ([expected[0]] if isinstance(expected, list) and len(expected) == 1 else [])
    if strict:
        return any(_identical(actual, form) for form in forms)
    return any(actual == form or _near(actual, form) for form in forms)


# JSON-like values (what outputs[i] can hold), small.
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(-4.0, 4.0, allow_nan=False, width=32),
    st.sampled_from(["a", "b", ""]),
)
VALUES = st.recursive(
    LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.sampled_from(["k", "j"]), children, max_size=2)
    ),
    max_leaves=6,
)


def _variants(value):
    """Answers near ``value``: itself, as tuples, wrapped, unwrapped, numbers nudged within and beyond
    the tolerance, as another numeric type, with an element dropped or added."""
    yield value
    if isinstance(value, list):
        yield tuple(value)
        yield [tuple(item) if isinstance(item, list) else item for item in value]
        yield value[:-1]
        yield [*value, 0]
        if value:
            yield value[0]
    yield [value]
    yield (value,)
    yield [[value]]
    if _is_number(value):
        yield value + 1e-9
        yield value + 1e-3
        yield float(value)
        yield int(value) if math.isfinite(value) else value
        yield not value
        yield str(value)
    if isinstance(value, bool):
        yield int(value)


@given(expected=VALUES, other=VALUES, strict=st.booleans())
@example(expected=[1, 2], other=1, strict=True)
@example(expected=[[1, 2]], other=[1], strict=False)
@example(expected=[3], other=[[3]], strict=True)
@example(expected=[0.5], other=0.5000001, strict=False)
@example(expected={"k": [1.0]}, other={"k": (1.0000001,)}, strict=False)
def test_call_results_follow_the_stated_rule(expected, other, strict):
    for actual in [*_variants(expected), other]:
        assert call_result_matches(actual, expected, strict) == _expected_verdict(actual, expected, strict), (
            actual,
            expected,
            strict,
        )


@pytest.mark.parametrize("strict", [True, False])
@pytest.mark.parametrize(
    "actual, expected",
    [
        (1, [1, 2]),  # the first element of a two-element answer
        ([1], [1, 2]),  # a prefix
        ([1, 2, 3], [1, 2]),  # an extension
        ([[1, 2]], [1, 2]),  # wrapped once more than the answer
        (3, [[3]]),  # unwrapped twice: only one level of wrapping is the dataset's
        ([1], [[1, 2]]),
        ([2, 1], [1, 2]),  # order matters
        ({"k": 1}, [{"k": 2}]),
        ("3", [3]),  # text for a number
        (None, [None, None]),
        (1.001, 1.0),  # beyond the tolerance
    ],
)
def test_wrong_answers_never_pass(actual, expected, strict):
    assert not call_result_matches(actual, expected, strict)


def test_types_count_only_with_strict_types():
    assert call_result_matches(1.0, [1], strict=False) and not call_result_matches(1.0, [1], strict=True)
    assert call_result_matches(True, [1], strict=False) and not call_result_matches(True, [1], strict=True)
    assert call_result_matches(0.1 + 0.2, [0.3], strict=False) and not call_result_matches(
        0.1 + 0.2, [0.3], strict=True
    )
    assert call_result_matches([(1, 2.0)], [[[1, 2.0]]], strict=True)
    assert call_result_matches({"k": (1, 2)}, {"k": [1, 2]}, strict=True)


STDIO = {"fn_name": "pair", "inputs": [[1, 2], [5, 5]], "outputs": [[[1, 2]], [[5, 5]]]}


def _pair(a, b):
    return (a, b)


def _first(a, b):
    return a


def _pair_list(a, b):
    return [a, b]


def test_call_based_suite_calls_with_the_inputs_and_compares_every_pair(run_suite, judge_modules):
    judge = judge_modules.judge
    for function, statuses in (
        (_pair, ["passed", "passed"]),
        (_pair_list, ["passed", "passed"]),
        (_first, ["failed", "failed"]),
    ):
        _, outcomes = run_suite({"format": "stdio", "test": STDIO}, LocalProgram(judge, pair=function))
        assert [outcome["status"] for outcome in outcomes] == statuses, function
        assert [outcome["source"] for outcome in outcomes] == ["call with [1, 2]", "call with [5, 5]"]
    # An input that is not a list is the one argument; a list holds the arguments.
    single = {"fn_name": "double", "inputs": [4, [[1, 2]]], "outputs": [8, [[1, 2, 1, 2]]]}
    _, outcomes = run_suite({"format": "stdio", "test": single}, LocalProgram(judge, double=lambda x: x * 2))
    assert [outcome["status"] for outcome in outcomes] == ["passed", "passed"]
