"""The judge's comparisons against independent statements of their rules: standard output token by
token (text, or numbers within 1e-6 relative or absolute), ``pytest.approx`` (numbers and containers of
numbers within rel 1e-6 / abs 1e-12 unless given), strict equality (identical types all the way down)
and reference equality (Python's ``==``)."""

from __future__ import annotations

import math

import pytest
from hfplug_code_exec.sandbox.compare import outputs_match, reference_equal, strict_equal
from hypothesis import example, given
from hypothesis import strategies as st


def _token_equal(actual: str, expected: str) -> bool:
    if actual == expected:
        return True
    try:
        a, e = float(actual), float(expected)
    except ValueError:
        return False
    if math.isnan(a) or math.isnan(e):
        return math.isnan(a) and math.isnan(e)
    return abs(a - e) <= max(1e-6 * max(abs(a), abs(e)), 1e-6)


def _expected_output_verdict(actual: str, expected: str) -> bool:
    got, want = actual.split(), expected.split()
    return len(got) == len(want) and all(map(_token_equal, got, want))


TOKENS = st.one_of(
    st.integers(-3, 3).map(str),
    st.sampled_from(["0.5", "0.500000", "0.5000001", "0.51", "1e-7", "0", "-0", "nan", "NaN", "inf", "yes", "YES"]),
    st.floats(-2, 2, allow_nan=False).map(repr),
)
SPACES = st.sampled_from([" ", "  ", "\n", "\r\n", "\t", " \n\n"])


@st.composite
def outputs(draw) -> str:
    tokens = draw(st.lists(TOKENS, max_size=4))
    text = "".join(token + draw(SPACES) for token in tokens)
    return draw(SPACES) + text if draw(st.booleans()) else text


@given(actual=outputs(), expected=outputs())
@example(actual="1000000.9", expected="1000000")
@example(actual="1000001.1", expected="1000000")
@example(actual="1e-7\n", expected="0")
@example(actual="0.0000019", expected="0")
@example(actual="nan", expected="NaN")
@example(actual="nan", expected="0")
@example(actual="3 4", expected="3")
def test_standard_output_follows_the_stated_rule(actual, expected):
    assert outputs_match(actual, expected) == _expected_output_verdict(actual, expected)
    assert outputs_match(actual, actual)


def test_pytest_approx_is_honoured_on_either_side_and_nothing_else_passes_for_it():
    """The judge's tests import the real pytest: its approx decides, whichever side it is on."""
    assert strict_equal(1.0000009, pytest.approx(1.0)) and not strict_equal(1.000002, pytest.approx(1.0))
    assert strict_equal(pytest.approx({"a": 2.0}), {"a": 2.0000000001})
    assert not strict_equal([1.1], pytest.approx([1.0]))
    assert not strict_equal(pytest.approx(100.0, rel=0.01), 101.1)

    class Approximately:  # named like pytest's class but not pytest's: compared by type, so never equal
        def __eq__(self, other):
            return True

    assert not strict_equal(1.0, Approximately()) and not strict_equal(Approximately(), 1.0)


def test_strict_equality_needs_identical_types_all_the_way_down():
    assert strict_equal({"a": [1, (2.0, "x")]}, {"a": [1, (2.0, "x")]})
    assert not strict_equal({"a": [1, (2.0, "x")]}, {"a": [1, [2.0, "x"]]})  # a tuple is not a list
    assert not strict_equal({"a": 1}, {"b": 1}) and not strict_equal({"a": 1}, {"a": 1.0})
    assert not strict_equal([1, 2], [1, 2, 3]) and not strict_equal([1, 2], [1, 3])
    assert not strict_equal(1, True) and not strict_equal(0, False) and not strict_equal("1", 1)
    assert strict_equal(float("nan"), float("nan")) and not strict_equal(float("nan"), 1.0)
    assert not strict_equal(1.0, float("nan"))
    assert strict_equal(pytest.approx(0.3), 0.1 + 0.2) and strict_equal(0.1 + 0.2, pytest.approx(0.3))
    assert not strict_equal(pytest.approx(0.3), 0.31) and not strict_equal([0.1 + 0.2], [0.3])
    assert strict_equal(None, None) and not strict_equal(None, 0)


def test_reference_equality_is_pythons():
    assert reference_equal(1, 1.0) and reference_equal(True, 1) and reference_equal((1, 2), (1, 2))
    assert not reference_equal((1, 2), [1, 2]) and not reference_equal(0.1 + 0.2, 0.3)
