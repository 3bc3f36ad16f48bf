"""The TALR paper's comparison: each method against plain SFT trained at the same learning rate. Both runs are
scored on the same items and every score is resampled with the same bootstrap indices, so the difference of two
runs' draws is a paired difference and gets its own interval (two runs' intervals against the base model can
overlap while their difference is clear of zero)."""

from __future__ import annotations

from typing import Any

from benchmarks.forgetting.matched import REFERENCE
from benchmarks.forgetting.stats import percentile_interval


def same_rate_comparison(
    points: dict[str, list[tuple[float, dict[str, Any]]]], reference: str = REFERENCE
) -> list[dict[str, Any]]:
    """For every method but ``reference`` and every learning rate both ran at: the method's target gain minus the
    reference's (> 0 = learns more) and its general-text NLL rise minus the reference's (nats/token; < 0 = forgets
    less), each with a 95% paired bootstrap interval.

    ``points`` maps a method to ``(learning_rate, curve_draws(...))`` pairs, as in :mod:`matched`.
    """
    reference_points = dict(points.get(reference, []))
    rows = []
    for method, curve in points.items():
        if method == reference:
            continue
        for learning_rate, point in sorted(curve, key=lambda rate_and_point: rate_and_point[0]):
            if learning_rate not in reference_points:
                continue
            other = reference_points[learning_rate]
            rows.append(
                {
                    "method": method,
                    "reference": reference,
                    "learning_rate": learning_rate,
                    "target_gain_difference": percentile_interval(
                        point["gain"] - other["gain"], point["gain_draws"] - other["gain_draws"]
                    ),
                    "general_loss_difference": percentile_interval(
                        point["loss"] - other["loss"], point["loss_draws"] - other["loss_draws"]
                    ),
                }
            )
    return rows
