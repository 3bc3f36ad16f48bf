"""The forgetting benchmark's statistics: paired bootstrap intervals and the matched-gain interpolation."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.forgetting.matched import interpolate, matched_comparison  # noqa: E402
from benchmarks.forgetting.stats import RESAMPLES, excludes_zero, mean_difference, per_token_difference  # noqa: E402


def test_per_token_difference_is_a_ratio_of_sums_with_an_interval_around_it():
    base = [10.0, 20.0, 30.0, 40.0]
    model = [11.0, 22.0, 33.0, 44.0]  # +10% of each item's NLL
    tokens = [5, 10, 15, 20]
    estimate = per_token_difference(model, base, tokens)
    assert estimate["value"] == pytest.approx(10.0 / 50)
    assert estimate["low"] <= estimate["value"] <= estimate["high"]
    assert excludes_zero(estimate)


def test_paired_differences_cancel_what_the_items_share():
    rng = np.random.default_rng(1)
    item_difficulty = rng.normal(0, 5, 400)  # large, shared by both models
    base = item_difficulty
    model = item_difficulty + 0.1 + rng.normal(0, 0.05, 400)
    estimate = mean_difference(model, base)
    assert estimate["low"] > 0.09 and estimate["high"] < 0.11  # unpaired, the interval would be ~+-0.7


def test_interpolate_inside_and_outside_the_curve():
    gains, losses = np.array([0.3, 0.1, 0.2]), np.array([3.0, 1.0, 2.0])
    assert interpolate(gains, losses, 0.15) == pytest.approx(1.5)
    assert np.isnan(interpolate(gains, losses, 0.35))


def test_interpolate_follows_the_rates_and_takes_the_best_crossing():
    # In rate order the gain rises, then falls back while the loss jumps (the highest rate only forgets).
    gains, losses = np.array([0.3, 0.5, 0.47]), np.array([0.0, -0.01, 0.2])
    assert interpolate(gains, losses, 0.474) == pytest.approx(-0.01 * 0.174 / 0.2)  # not 0.172, the turn-back
    assert interpolate(gains, losses, 0.49) == pytest.approx(-0.01 * 0.19 / 0.2)
    assert np.isnan(interpolate(gains, losses, 0.51))


def point(gain: float, loss: float) -> dict:
    return {"gain": gain, "loss": loss, "gain_draws": np.full(RESAMPLES, gain), "loss_draws": np.full(RESAMPLES, loss)}


def test_matched_comparison_reads_each_method_at_sfts_gain():
    curves = {
        "sft": [(1e-5, point(0.1, 0.02)), (1e-4, point(0.3, 0.10))],
        "talr": [(1e-5, point(0.05, 0.0)), (1e-4, point(0.35, 0.03))],  # at gain 0.1: 0.005; at 0.3: 0.025
        "flow": [(1e-5, point(0.0, 0.0)), (1e-4, point(0.2, 0.01))],  # never reaches 0.3
    }
    rows = {(r["method"], r["reference_learning_rate"]): r for r in matched_comparison(curves)}
    assert rows[("talr", 1e-5)]["general_loss_difference"]["value"] == pytest.approx(0.005 - 0.02)
    assert rows[("talr", 1e-4)]["general_loss_difference"]["value"] == pytest.approx(0.025 - 0.10)
    assert rows[("flow", 1e-5)]["general_loss_difference"]["value"] == pytest.approx(0.005 - 0.02)
    assert rows[("flow", 1e-4)]["reached_share"] == 0.0
    assert np.isnan(rows[("flow", 1e-4)]["general_loss_difference"]["value"])


def test_matched_comparison_walks_each_curve_in_rate_order():
    curves = {
        "sft": [(4e-4, point(0.474, 0.05))],
        # listed out of rate order; by rate: 5e-4 (0.3, 0.0), 1.5e-3 (0.5, -0.01), 4e-3 (0.47, 0.2)
        "lora": [(5e-4, point(0.3, 0.0)), (4e-3, point(0.47, 0.2)), (1.5e-3, point(0.5, -0.01))],
    }
    (row,) = matched_comparison(curves)
    assert row["general_loss_difference"]["value"] == pytest.approx(-0.01 * 0.174 / 0.2 - 0.05)


def test_sft_is_read_off_its_own_curve_like_the_others():
    # SFT's highest rate gains no more than its middle one and forgets more: at that point's gain SFT itself
    # does better between its two lower rates, and that is what the other methods are compared with.
    curves = {
        "sft": [(5e-5, point(0.4, -0.01)), (1.5e-4, point(0.5, -0.02)), (4e-4, point(0.45, 0.2))],
        "flow": [(5e-5, point(0.3, 0.0)), (1.5e-4, point(0.6, 0.0))],
    }
    row = next(r for r in matched_comparison(curves) if r["reference_learning_rate"] == 4e-4)
    assert row["reference_general_loss"] == pytest.approx(-0.015)  # between 5e-5 and 1.5e-4, not the point's 0.2
    assert row["general_loss_difference"]["value"] == pytest.approx(0.015)


def test_a_combination_is_also_read_against_the_method_it_adds_to():
    from benchmarks.forgetting.report import against_own_baselines

    curves = {
        "sft": [(5e-5, point(0.4, -0.02)), (1.5e-4, point(0.5, 0.0))],
        "lora": [(5e-4, point(0.3, -0.05)), (1.5e-3, point(0.5, 0.05))],  # at gain 0.4: 0.0
        "flow_lora": [(5e-4, point(0.2, -0.05)), (1.5e-3, point(0.6, 0.03))],  # at gain 0.4: -0.01; at 0.3: -0.03
        "flow": [(5e-5, point(0.4, -0.03)), (1.5e-4, point(0.5, 0.0))],  # added to SFT: in the main table only
    }
    rows = {(r["method"], r["reference_learning_rate"]): r for r in against_own_baselines(curves)}
    assert set(rows) == {("flow_lora", 5e-4), ("flow_lora", 1.5e-3)}
    assert rows[("flow_lora", 5e-4)]["reference"] == "lora"
    assert rows[("flow_lora", 5e-4)]["general_loss_difference"]["value"] == pytest.approx(-0.03 - (-0.05))
    assert rows[("flow_lora", 1.5e-3)]["general_loss_difference"]["value"] == pytest.approx(0.01 - 0.05)


def test_same_rate_comparison_pairs_each_method_with_sft_at_its_rate():
    from benchmarks.forgetting.same_rate import same_rate_comparison

    shared = np.random.default_rng(0).normal(0, 0.05, RESAMPLES)  # what every run's resample shares (same items)

    def noisy(gain: float, loss: float) -> dict:
        return {"gain": gain, "loss": loss, "gain_draws": gain + shared, "loss_draws": loss + shared}

    curves = {
        "sft": [(5e-6, noisy(0.10, 0.010)), (1e-6, noisy(0.05, 0.001))],
        "talr": [(1e-6, noisy(0.06, 0.002)), (5e-6, noisy(0.08, 0.012)), (5e-5, noisy(-0.2, 0.05))],  # no SFT 5e-5
    }
    rows = {r["learning_rate"]: r for r in same_rate_comparison(curves)}
    assert set(rows) == {1e-6, 5e-6}
    assert rows[5e-6]["method"] == "talr" and rows[5e-6]["reference"] == "sft"
    gain, loss = rows[5e-6]["target_gain_difference"], rows[5e-6]["general_loss_difference"]
    assert gain["value"] == pytest.approx(-0.02) and loss["value"] == pytest.approx(0.002)
    # Paired: the shared resampling noise cancels, so the interval is the point (unpaired it would be ~+-0.14).
    assert gain["low"] == pytest.approx(-0.02) and gain["high"] == pytest.approx(-0.02)
    assert rows[1e-6]["target_gain_difference"]["value"] == pytest.approx(0.01)
    assert rows[1e-6]["general_loss_difference"]["low"] == pytest.approx(0.001)
