"""Maximum mean discrepancy with a sum of RBF kernels whose bandwidth follows the median heuristic.

``k(a, b) = sum_m exp(-||a - b||^2 / (2 (m * sigma)^2))`` for ``m`` in ``scales`` (the paper's
``{0.5, 1, 2}``), ``sigma`` the median pairwise distance of the two samples pooled, recomputed at
every call and detached: the bandwidth is a measuring stick, and letting gradients flow through it
would let the encoder shrink or stretch the stick instead of matching the prior.

Three estimators of ``MMD^2(P, Q)``:

- ``biased``: ``mean(Kxx) + mean(Kyy) - 2 mean(Kxy)`` (V-statistic, >= 0, 0 on identical samples;
  the paper's training loss);
- ``unbiased``: the U-statistic, diagonals of ``Kxx`` and ``Kyy`` left out (averages 0 when P = Q,
  can be negative);
- ``linear``: Gretton et al.'s linear-time estimator on disjoint pairs, ``O(n)`` for large batches
  (the bandwidth is then the median over the distances it already computes, to stay ``O(n)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from hfplug.errors import ConfigError, DatasetError

ESTIMATORS: tuple[str, ...] = ("biased", "unbiased", "linear")
PAPER_SCALES: tuple[float, ...] = (0.5, 1.0, 2.0)
# A pooled sample whose points all coincide has median distance 0; any positive bandwidth then
# gives k = 1 everywhere and MMD = 0, so the floor only avoids 0 / 0.
_MIN_BANDWIDTH = 1e-12


def mmd2(
    x: Any,
    y: Any,
    estimator: str = "biased",
    *,
    scales: Sequence[float] = PAPER_SCALES,
    bandwidth: float | None = None,
) -> torch.Tensor:
    """Squared MMD between the rows of ``x`` (n x d) and ``y`` (m x d), differentiable in both.

    ``bandwidth`` fixes ``sigma`` instead of the median heuristic. Raises :class:`DatasetError` for
    samples that are not 2-D, disagree in width, have fewer than 2 rows or hold NaN/inf, and
    :class:`ConfigError` for an unknown estimator or non-positive scales.
    """
    x, y = _as_tensor(x, "x"), _as_tensor(y, "y")
    _check_samples(x, y)
    check_estimator(estimator)
    scales = check_scales(scales)
    if estimator == "linear":
        return _linear_mmd2(x, y, scales, bandwidth)
    if bandwidth is None:
        bandwidth = median_bandwidth(x, y)
    kxx = rbf_kernel(x, x, bandwidth, scales)
    kyy = rbf_kernel(y, y, bandwidth, scales)
    kxy = rbf_kernel(x, y, bandwidth, scales)
    if estimator == "biased":
        return kxx.mean() + kyy.mean() - 2 * kxy.mean()
    n, m = len(x), len(y)
    within_x = (kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1))
    within_y = (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))
    return within_x + within_y - 2 * kxy.mean()


def median_bandwidth(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Median distance over all distinct pairs of the pooled sample, detached from the graph."""
    pooled = torch.cat([x, y]).detach()
    distances = squared_distances(pooled, pooled).sqrt()
    upper = torch.triu_indices(len(pooled), len(pooled), offset=1, device=pooled.device)
    return distances[upper[0], upper[1]].median().clamp_min(_MIN_BANDWIDTH)


def squared_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``||a_i - b_j||^2`` for all pairs, differentiable everywhere (also where a_i = b_j)."""
    squared = a.pow(2).sum(1, keepdim=True) + b.pow(2).sum(1) - 2 * a @ b.T
    return squared.clamp_min(0)


def rbf_kernel(a: torch.Tensor, b: torch.Tensor, bandwidth: Any, scales: Sequence[float]) -> torch.Tensor:
    """The multi-scale RBF Gram matrix ``sum_m exp(-||a_i - b_j||^2 / (2 (m sigma)^2))``."""
    return _rbf(squared_distances(a, b), bandwidth, scales)


def _rbf(squared: torch.Tensor, bandwidth: Any, scales: Sequence[float]) -> torch.Tensor:
    return sum(torch.exp(-squared / (2 * (scale * bandwidth) ** 2)) for scale in scales)


def _linear_mmd2(x: torch.Tensor, y: torch.Tensor, scales: Sequence[float], bandwidth: float | None) -> torch.Tensor:
    pairs = min(len(x), len(y)) // 2
    x1, x2 = x[0 : 2 * pairs : 2], x[1 : 2 * pairs : 2]
    y1, y2 = y[0 : 2 * pairs : 2], y[1 : 2 * pairs : 2]
    squared = [((a - b) ** 2).sum(1) for a, b in ((x1, x2), (y1, y2), (x1, y2), (x2, y1))]
    if bandwidth is None:
        bandwidth = torch.cat(squared).detach().sqrt().median().clamp_min(_MIN_BANDWIDTH)
    kx, ky, kxy, kyx = (_rbf(s, bandwidth, scales) for s in squared)
    return (kx + ky - kxy - kyx).mean()


def check_estimator(estimator: str) -> str:
    """``estimator`` if it is one of :data:`ESTIMATORS`, else a :class:`ConfigError`."""
    if estimator not in ESTIMATORS:
        raise ConfigError(f"mmd_estimator: unknown estimator {estimator!r}; choose one of {', '.join(ESTIMATORS)}.")
    return estimator


def check_scales(scales: Sequence[float]) -> tuple[float, ...]:
    """The kernel scales as a tuple, refusing an empty list or non-positive values."""
    values = tuple(float(s) for s in scales)
    if not values or any(not s > 0 for s in values):
        raise ConfigError(f"kernel_scales: expected positive numbers, got {list(scales)!r}.")
    return values


def _as_tensor(sample: Any, name: str) -> torch.Tensor:
    if not isinstance(sample, torch.Tensor):
        sample = torch.as_tensor(sample, dtype=torch.float32)
    if not sample.is_floating_point():
        sample = sample.float()
    return sample


def _check_samples(x: torch.Tensor, y: torch.Tensor) -> None:
    for name, sample in (("x", x), ("y", y)):
        if sample.ndim != 2:
            raise DatasetError(
                f"mmd2: {name} must be a 2-D (samples x dimensions) array, got shape {tuple(sample.shape)}."
            )
        if len(sample) < 2:
            raise DatasetError(
                f"mmd2: {name} has {len(sample)} row(s); the median bandwidth and the estimators need at least 2 "
                "(a batch size of 1 cannot be compared with a distribution)."
            )
        if not torch.isfinite(sample).all():
            raise DatasetError(f"mmd2: {name} contains NaN or infinite values.")
    if x.shape[1] != y.shape[1]:
        raise DatasetError(f"mmd2: x has {x.shape[1]} dimensions but y has {y.shape[1]}.")
