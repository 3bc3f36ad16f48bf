"""``weights_from_losses`` for every input: tau is the median of the finite losses and w = exp(-l/tau), checked
against a from-scratch computation (``statistics.median``, ``math.exp``), never the code's own helpers."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
from hfplug_flow.weighting import weights_from_losses
from hypothesis import assume, example, given
from hypothesis import strategies as st

from hfplug.errors import DatasetError

# Losses a model can give: positive, from near 0 (an easy sample, tau < 1 included) to large.
LOSSES = st.floats(min_value=1e-3, max_value=40.0, allow_nan=False, allow_infinity=False)
MISSING = st.sampled_from([math.nan, math.inf, -math.inf])


def reference(losses: list[float]) -> tuple[float, list[float]]:
    finite = [loss for loss in losses if math.isfinite(loss)]
    tau = statistics.median(finite)
    return tau, [math.exp(-loss / tau) if math.isfinite(loss) else 0.0 for loss in losses]


@given(st.lists(LOSSES, min_size=1, max_size=30))
@example([0.2, 0.5, 0.9])  # tau < 1: still valid
def test_tau_is_the_median_and_weights_are_exp_of_minus_loss_over_tau(losses):
    tau, weights = weights_from_losses(losses)
    expected_tau, expected = reference(losses)
    assert tau == pytest.approx(expected_tau, rel=1e-15)
    assert weights == pytest.approx(expected, rel=1e-12)
    assert all(0 < w <= 1 for w in weights)


@given(st.lists(LOSSES, min_size=1, max_size=30))
def test_float32_losses_are_weighted_in_float64(losses):
    """Losses handed over as float32 (a numpy array from a model) get float64 weights of those very values."""
    as_float32 = np.asarray(losses, dtype=np.float32)
    _, weights = weights_from_losses(as_float32)
    _, expected = reference([float(x) for x in as_float32])
    assert weights == pytest.approx(expected, rel=1e-12)


@given(st.lists(st.one_of(LOSSES, MISSING), min_size=1, max_size=30))
def test_nan_policy_zero_gives_missing_losses_weight_zero_and_leaves_them_out_of_tau(losses):
    assume(any(math.isfinite(loss) for loss in losses))
    tau, weights = weights_from_losses(losses, nan_policy="zero")
    expected_tau, expected = reference(losses)
    assert tau == pytest.approx(expected_tau, rel=1e-15)
    assert weights == pytest.approx(expected, rel=1e-12)


@given(st.lists(st.one_of(LOSSES, MISSING), min_size=1, max_size=30))
@example([math.nan] * 10 + [1.0])  # exactly 10 missing: all named, no ellipsis
@example([math.nan] * 11 + [1.0])  # 11: the first 10 named, then " ..."
@example([1.0] + [math.inf] * 12)
def test_nan_policy_error_names_the_first_ten_missing_rows(losses):
    bad = [i for i, loss in enumerate(losses) if not math.isfinite(loss)]
    assume(bad)
    shown = ", ".join(str(i) for i in bad[:10]) + (" ..." if len(bad) > 10 else "")
    with pytest.raises(DatasetError, match=rf"for {len(bad)} sample\(s\) \(rows {shown}\);"):
        weights_from_losses(losses)


def test_no_finite_loss_at_all_is_an_error_under_either_policy():
    for policy in ("error", "zero"):
        with pytest.raises(DatasetError, match=r"NaN or infinite|no sample has a finite"):
            weights_from_losses([math.nan, math.inf], nan_policy=policy)
    with pytest.raises(DatasetError, match="no sample has a finite base-model loss"):
        weights_from_losses([math.nan, -math.inf], nan_policy="zero")


def test_a_negative_median_is_an_error_and_an_unknown_policy_is_named():
    with pytest.raises(DatasetError, match=r"median base-model loss is -2\.0"):
        weights_from_losses([-1.0, -2.0, -3.0])
    with pytest.raises(DatasetError, match="nan_policy must be one of"):
        weights_from_losses([1.0], nan_policy="drop")
