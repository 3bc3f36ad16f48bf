"""The geometric median by Weiszfeld's iteration, streamed over row blocks so memory stays O(block x d)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hfplug.errors import ConfigError
from hfplug_gm_matching.spread import process_share
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
    distributed: bool = False,
) -> Weiszfeld:
    """Weiszfeld's iteration for argmin_z sum_i ||z - x_i||, started at the mean [code].

    Each step is mu <- sum(x_i / d_i) / sum(1 / d_i) with d_i = ||x_i - mu|| (a zero distance counts as
    1e-8 [code]); it stops when the step ||mu_new - mu|| <= ``eps`` [code: 1e-5] or after ``max_iter``
    steps [code: 5000]. Each step streams blocks of ``block_rows`` float32 rows (on ``device``, e.g.
    ``"cuda"``) and adds the block sums in float64.

    ``subsample`` (the paper's gamma, in (0, 1]) computes the median of a seeded random
    ``ceil(gamma * n)``-row subset instead: the scalable variant, an estimate of the full median.

    ``distributed`` (inside an initialised torch.distributed process group; every process must call it): each
    process sums its share of the blocks, the block sums are exchanged and added in block order, so every
    process gets the median one process computes, bit for bit.
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
    blocks = _Blocks(matrix, block_rows, device, process_share(distributed))
    mu = blocks.sum_in_order(lambda block: block.double().sum(dim=0)) / len(matrix)
    for iteration in range(1, max_iter + 1):
        # mu_new = mu + sum_i w_i (x_i - mu) / sum_i w_i: the same step, written on the differences, which
        # float32 holds well near convergence; the block sums are added in float64.
        mu32 = mu.float()

        def weighted_sums(block: torch.Tensor, mu32: torch.Tensor = mu32) -> torch.Tensor:
            differences = block - mu32
            distances = torch.linalg.vector_norm(differences, dim=1).double()
            weights = 1.0 / torch.where(distances == 0, ZERO_DISTANCE, distances)
            return torch.cat([(weights.float() @ differences).double(), weights.sum().reshape(1)])

        sums = blocks.sum_in_order(weighted_sums)
        shift, weight_total = sums[:-1], sums[-1]
        step_vector = shift / weight_total
        mu = mu + step_vector
        step = float(torch.linalg.vector_norm(step_vector))
        if step <= eps:
            return Weiszfeld(mu.cpu().numpy(), iteration, True)
    return Weiszfeld(mu.cpu().numpy(), max_iter, False)


class _Blocks:
    """The float32 row blocks of ``matrix`` as torch tensors on ``device``, this process's share of them (block
    ``b`` on process ``b % world``): an in-memory matrix is moved once and sliced; :class:`StreamedRows` are read
    again on every pass (the same block boundaries and float32 values, so the same median)."""

    def __init__(self, matrix: np.ndarray | StreamedRows, block_rows: int, device: str, share: tuple[int, int]):
        import torch

        self.matrix = matrix
        self.block_rows = block_rows
        self.device = device
        self.rank, self.world = share
        self.count = -(-len(matrix) // block_rows)
        self.resident = None
        if not isinstance(matrix, StreamedRows):
            data = torch.from_numpy(matrix).to(device)
            self.resident = [data[start : start + block_rows] for start in range(0, data.shape[0], block_rows)]

    def mine(self):
        """``(index, block)`` for this process's blocks."""
        import torch

        for index in range(self.rank, self.count, self.world):
            if self.resident is not None:
                yield index, self.resident[index]
            else:
                start = index * self.block_rows
                yield index, torch.from_numpy(self.matrix[start : start + self.block_rows]).to(self.device)

    def sum_in_order(self, per_block):
        """The sum over all blocks of ``per_block(block)`` (a float64 vector), added block after block in index
        order whichever process computed each, so the result is the same on any number of processes."""
        import torch

        parts = None
        for index, block in self.mine():
            value = per_block(block)
            if parts is None:
                parts = torch.zeros((self.count, len(value)), dtype=torch.float64, device=value.device)
            parts[index] = value
        if self.world > 1:
            import torch.distributed as dist

            width = torch.tensor([0 if parts is None else parts.shape[1]], dtype=torch.int64)
            dist.all_reduce(width, op=dist.ReduceOp.MAX)  # a process with no block learns the width
            gathered = torch.zeros((self.count, int(width)), dtype=torch.float64)
            if parts is not None:
                gathered += parts.cpu()
            dist.all_reduce(gathered)  # each row is non-zero on one process only: the sums are exact
            parts = gathered.to(self.device)
        total = torch.zeros(parts.shape[1], dtype=torch.float64, device=parts.device)
        for row in parts:
            total += row
        return total


def geometric_median(points: Any, **options: Any) -> np.ndarray:
    """The eps-approximate geometric median of ``points`` (an ``(n, d)`` array-like) as a float64 vector.

    Options are those of :func:`weiszfeld` (``eps``, ``max_iter``, ``subsample``, ``seed``, ``device``).
    """
    return weiszfeld(points, **options).median
