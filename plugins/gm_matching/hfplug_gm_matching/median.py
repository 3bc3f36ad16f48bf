"""The geometric median by Weiszfeld's iteration, streamed over row blocks so memory stays O(block x d)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hfplug.errors import ConfigError
from hfplug_gm_matching.streamed import BLOCK_ROWS, StreamedRows
from hfplug_gm_matching.validation import embedding_matrix

# [code] A point that coincides with the current estimate gets distance 1e-8 instead of 0 (weight 1e8).
ZERO_DISTANCE = 1e-8


@dataclass(frozen=True)
class Weiszfeld:
    """The result of :func:`weiszfeld`: the median estimate, the iterations used and whether ``eps`` was met."""

    median: np.ndarray
    iterations: int
    converged: bool


def weiszfeld(
    points: Any,
    *,
    eps: float = 1e-5,
    max_iter: int = 5000,
    subsample: float | None = None,
    seed: int = 0,
    device: str = "cpu",
    block_rows: int = BLOCK_ROWS,
) -> Weiszfeld:
    """Weiszfeld's iteration for argmin_z sum_i ||z - x_i||, started at the mean [code].

    Each step is mu <- sum(x_i / d_i) / sum(1 / d_i) with d_i = ||x_i - mu|| (a zero distance counts as
    1e-8 [code]); it stops when the step ||mu_new - mu|| <= ``eps`` [code: 1e-5] or after ``max_iter``
    steps [code: 5000]. Each step streams blocks of ``block_rows`` float32 rows (on ``device``, e.g.
    ``"cuda"``) and adds the block sums in float64.

    ``subsample`` (the paper's gamma, in (0, 1]) computes the median of a seeded random
    ``ceil(gamma * n)``-row subset instead: the scalable variant, an estimate of the full median.
    """
    import torch

    matrix = points if isinstance(points, StreamedRows) else embedding_matrix(points, what="points")
    if not eps > 0:
        raise ConfigError(f"geometric median: eps must be > 0, got {eps!r}.")
    if max_iter < 1:
        raise ConfigError(f"geometric median: max_iter must be >= 1, got {max_iter!r}.")
    if subsample is not None:
        if not 0 < subsample <= 1:
            raise ConfigError(f"geometric median: subsample (gamma) must be in (0, 1], got {subsample!r}.")
        size = max(1, int(np.ceil(subsample * matrix.shape[0])))
        rows = np.sort(np.random.default_rng(seed).choice(matrix.shape[0], size=size, replace=False))
        matrix = matrix.subset(rows) if isinstance(matrix, StreamedRows) else matrix[rows]
    blocks = _Blocks(matrix, block_rows, device)
    mu = sum(block.double().sum(dim=0) for block in blocks) / len(matrix)
    for iteration in range(1, max_iter + 1):
        # mu_new = mu + sum_i w_i (x_i - mu) / sum_i w_i: the same step, written on the differences, which
        # float32 holds well near convergence; the block sums are added in float64.
        shift = torch.zeros_like(mu)
        weight_total = torch.zeros((), dtype=torch.float64, device=mu.device)
        mu32 = mu.float()
        for block in blocks:
            differences = block - mu32
            distances = torch.linalg.vector_norm(differences, dim=1).double()
            weights = 1.0 / torch.where(distances == 0, ZERO_DISTANCE, distances)
            shift += (weights.float() @ differences).double()
            weight_total += weights.sum()
        step_vector = shift / weight_total
        mu = mu + step_vector
        step = float(torch.linalg.vector_norm(step_vector))
        if step <= eps:
            return Weiszfeld(mu.cpu().numpy(), iteration, True)
    return Weiszfeld(mu.cpu().numpy(), max_iter, False)


class _Blocks:
    """The float32 row blocks of ``matrix`` as torch tensors on ``device``, for one pass each time it is iterated:
    an in-memory matrix is moved once and sliced; :class:`StreamedRows` are read again on every pass (the same
    block boundaries and float32 values, so the same median)."""

    def __init__(self, matrix: np.ndarray | StreamedRows, block_rows: int, device: str) -> None:
        import torch

        self.matrix = matrix
        self.block_rows = block_rows
        self.device = device
        self.resident = None
        if not isinstance(matrix, StreamedRows):
            data = torch.from_numpy(matrix).to(device)
            self.resident = [data[start : start + block_rows] for start in range(0, data.shape[0], block_rows)]

    def __iter__(self):
        import torch

        if self.resident is not None:
            return iter(self.resident)
        return (torch.from_numpy(block).to(self.device) for _, block in self.matrix.blocks(self.block_rows))


def geometric_median(points: Any, **options: Any) -> np.ndarray:
    """The eps-approximate geometric median of ``points`` (an ``(n, d)`` array-like) as a float64 vector.

    Options are those of :func:`weiszfeld` (``eps``, ``max_iter``, ``subsample``, ``seed``, ``device``).
    """
    return weiszfeld(points, **options).median
