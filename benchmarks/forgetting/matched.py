"""The papers' comparison: at the same gain on the target task, how much more (or less) does a method forget
than plain SFT? Each method's curve (general loss against target gain, one point per learning rate) is
interpolated at SFT's gains, on every bootstrap resample, so the difference gets an interval too."""

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
    """General loss at target gain ``at`` on the piecewise-linear curve through the points (sorted by gain);
    NaN when ``at`` is outside the gains the method reached."""
    order = np.argsort(gains)
    gains, losses = gains[order], losses[order]
    if len(gains) < 2 or not gains[0] <= at <= gains[-1]:
        return float("nan")
    return float(np.interp(at, gains, losses))


def matched_comparison(points: dict[str, list[tuple[float, dict[str, Any]]]]) -> list[dict[str, Any]]:
    """For every method but SFT and every SFT point: the method's general loss at SFT's target gain, minus SFT's
    general loss there (nats/token; < 0 = forgets less), with a 95% interval and the share of resamples in which
    the method's curve reached that gain.

    ``points`` maps a method to ``(learning_rate, curve_draws(...))`` pairs.
    """
    rows = []
    for reference_lr, reference in sorted(points.get(REFERENCE, [])):
        for method, curve in points.items():
            if method == REFERENCE or len(curve) < 2:
                continue
            gains = np.array([c["gain"] for _, c in curve])
            losses = np.array([c["loss"] for _, c in curve])
            point = interpolate(gains, losses, reference["gain"]) - reference["loss"]
            gain_draws = np.stack([c["gain_draws"] for _, c in curve], axis=1)
            loss_draws = np.stack([c["loss_draws"] for _, c in curve], axis=1)
            draws = np.array(
                [
                    interpolate(gain, loss, at) - ref
                    for gain, loss, at, ref in zip(
                        gain_draws, loss_draws, reference["gain_draws"], reference["loss_draws"], strict=True
                    )
                ]
            )
            rows.append(
                {
                    "method": method,
                    "sft_learning_rate": reference_lr,
                    "target_gain": reference["gain"],
                    "sft_general_loss": reference["loss"],
                    "general_loss_difference": percentile_interval(point, draws),
                    "reached_share": float(np.isfinite(draws).mean()),
                }
            )
    return rows
