"""Paired bootstrap intervals: every model is scored on the same items, so differences resample items jointly."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

RESAMPLES = 2000
LEVEL = 0.95
SEED = 0


def resample_indices(num_items: int, resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """``(resamples, num_items)`` item indices drawn with replacement; the same seed gives the same draws, so
    every model's interval (and every difference) is computed on identical resamples."""
    return np.random.default_rng(seed).integers(0, num_items, size=(resamples, num_items))


def interval(statistic: Callable[[np.ndarray], np.ndarray], num_items: int, point: float) -> dict[str, float]:
    """``{'value', 'low', 'high'}``: the statistic on all items and the percentile interval over resamples.

    ``statistic`` maps an index array of shape ``(resamples, num_items)`` (or ``(1, num_items)``) to one
    value per row.
    """
    return percentile_interval(point, statistic(resample_indices(num_items)))


def mean_difference(model: Sequence[float], base: Sequence[float]) -> dict[str, float]:
    """Mean of ``model - base`` over paired items (accuracy change, log-probability change ...)."""
    delta = np.asarray(model, dtype=np.float64) - np.asarray(base, dtype=np.float64)
    return interval(lambda index: delta[index].mean(axis=-1), len(delta), delta.mean())


def per_token_difference_draws(
    model_nll: Sequence[float], base_nll: Sequence[float], tokens: Sequence[int]
) -> tuple[float, np.ndarray]:
    """The change of the per-token NLL, ``(sum(model) - sum(base)) / sum(tokens)``, and its value on every
    bootstrap resample (items resampled together with their token counts; an item is a solution or a window)."""
    delta = np.asarray(model_nll, dtype=np.float64) - np.asarray(base_nll, dtype=np.float64)
    count = np.asarray(tokens, dtype=np.float64)
    index = resample_indices(len(delta))
    return float(delta.sum() / count.sum()), delta[index].sum(axis=-1) / count[index].sum(axis=-1)


def per_token_difference(
    model_nll: Sequence[float], base_nll: Sequence[float], tokens: Sequence[int]
) -> dict[str, float]:
    """:func:`per_token_difference_draws` as a value with its percentile interval."""
    point, draws = per_token_difference_draws(model_nll, base_nll, tokens)
    return percentile_interval(point, draws)


def percentile_interval(point: float, draws: np.ndarray) -> dict[str, float]:
    """``{'value', 'low', 'high'}`` from a point estimate and its bootstrap draws (NaN draws left out)."""
    finite = draws[np.isfinite(draws)]
    if finite.size == 0:
        return {"value": float(point), "low": float("nan"), "high": float("nan")}
    tail = 100 * (1 - LEVEL) / 2
    low, high = np.percentile(finite, [tail, 100 - tail])
    return {"value": float(point), "low": float(low), "high": float(high)}


def excludes_zero(estimate: dict[str, float]) -> bool:
    return estimate["low"] > 0 or estimate["high"] < 0
