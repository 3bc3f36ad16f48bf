"""The papers' comparison: at the same gain on the target task, how much more (or less) does a method forget
than plain SFT (or than the method a combination adds to)? Each method's curve (general loss against target
gain, one point per learning rate) is interpolated at the reference's gains, on every bootstrap resample, so the
difference gets an interval too."""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.forgetting.evaluation import TEXT_SETS
from benchmarks.forgetting.stats import per_token_difference_draws, percentile_interval

REFERENCE = "sft"


def curve_draws(scores: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """Target gain and general-text NLL increase of one run: point values and bootstrap draws."""

    def change(keys: list[str]) -> tuple[float, np.ndarray]:
        def joined(source: dict[str, Any], field: str) -> list[float]:
            return [v for key in keys for v in source[key][field]]

        return per_token_difference_draws(joined(scores, "nll"), joined(base, "nll"), joined(base, "tokens"))

    target, target_draws = change(["target/gsm_symbolic"])
    general, general_draws = change([f"text/{name}" for name in TEXT_SETS])
    return {"gain": -target, "gain_draws": -target_draws, "loss": general, "loss_draws": general_draws}


def interpolate(gains: np.ndarray, losses: np.ndarray, at: float) -> float:
    """General loss at target gain ``at`` on a method's curve: the piecewise-linear path through its points in
    learning-rate order (``gains``, ``losses`` given in that order). Where the path reaches ``at`` more than once
    (a higher rate that gains no more but forgets more turns the curve back), the least loss is the method's:
    the best it does at that gain. NaN when the path never reaches ``at``."""
    found = [loss for gain, loss in zip(gains, losses, strict=True) if gain == at]
    for i in range(len(gains) - 1):
        (g0, g1), (l0, l1) = gains[i : i + 2], losses[i : i + 2]
        if g0 != g1 and min(g0, g1) <= at <= max(g0, g1):
            found.append(l0 + (at - g0) / (g1 - g0) * (l1 - l0))
    return float(min(found)) if found else float("nan")


def _in_rate_order(curve: list[tuple[float, dict[str, Any]]]) -> dict[str, np.ndarray]:
    """A method's points sorted by learning rate: point values (K) and bootstrap draws (resamples x K)."""
    ordered = [point for _, point in sorted(curve, key=lambda rate_and_point: rate_and_point[0])]
    return {
        "gains": np.array([c["gain"] for c in ordered]),
        "losses": np.array([c["loss"] for c in ordered]),
        "gain_draws": np.stack([c["gain_draws"] for c in ordered], axis=1),
        "loss_draws": np.stack([c["loss_draws"] for c in ordered], axis=1),
    }


def _loss_at(curve: dict[str, np.ndarray], at: float, at_draws: np.ndarray) -> tuple[float, np.ndarray]:
    """A curve's general loss at a gain, on the point values and on every resample (the gain resampled too)."""
    draws = [
        interpolate(gains, losses, gain)
        for gains, losses, gain in zip(curve["gain_draws"], curve["loss_draws"], at_draws, strict=True)
    ]
    return interpolate(curve["gains"], curve["losses"], at), np.array(draws)


def matched_comparison(
    points: dict[str, list[tuple[float, dict[str, Any]]]], reference: str = REFERENCE
) -> list[dict[str, Any]]:
    """For every method but ``reference`` and every reference point's target gain: the method's general loss at
    that gain minus the reference's (nats/token; < 0 = forgets less), both read off their curves in learning-rate
    order the same way (see :func:`interpolate`: where the reference's own curve reaches its point's gain at a
    lower loss, between two other rates, that lower loss is the reference's), with a 95% interval and the share
    of resamples in which the method reached it.

    ``points`` maps a method to ``(learning_rate, curve_draws(...))`` pairs.
    """
    if reference not in points:
        return []
    reference_curve = _in_rate_order(points[reference])
    # Each method's curve is put in rate order once, not again for every reference point it is read at.
    curves = {m: _in_rate_order(curve) for m, curve in points.items() if m != reference and len(curve) >= 2}
    rows = []
    for reference_lr, reference_point in sorted(points[reference], key=lambda rate_and_point: rate_and_point[0]):
        at, at_draws = reference_point["gain"], reference_point["gain_draws"]
        reference_loss, reference_draws = _loss_at(reference_curve, at, at_draws)
        for method, curve in curves.items():
            loss, draws = _loss_at(curve, at, at_draws)
            differences = draws - reference_draws
            rows.append(
                {
                    "method": method,
                    "reference": reference,
                    "reference_learning_rate": reference_lr,
                    "target_gain": at,
                    "reference_general_loss": reference_loss,
                    "general_loss_difference": percentile_interval(loss - reference_loss, differences),
                    "reached_share": float(np.isfinite(differences).mean()),
                }
            )
    return rows
