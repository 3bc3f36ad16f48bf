"""The exact herding pick that reads an int8 copy of the embeddings instead of the float32 matrix.

Herding's pick is argmax_j <theta, phi_j> over the rows not taken yet. The plain loop computes that
with a float32 matrix-vector product, reading 4 * n * d bytes per pick; on a CPU that is memory
bound. Here every row gets, from its int8 codes (n * d bytes), an approximate score ``a_j`` and a
rigorous bound on how far the float32 loop's score ``R_j`` can be from it:

    |R_j - a_j| <= e_j ||theta||_1 + s_j ||q_j||_1 e_theta + gamma * max|phi_j| ||theta||_1

(row quantisation error ``e_j``, measured; theta's own int8 error ``e_theta``; ``gamma`` the standard
worst-case rounding bound of any float32 summation order of d products, which covers the float32
loop whatever BLAS kernel it uses). Rows whose upper bound is below the best lower bound cannot be
the pick; the few that remain are scored exactly in float64 with their own rounding bound. When the
winner's float32 score is provably above every other, that is the float32 loop's pick. When it is
not (a near tie within float32 rounding, e.g. duplicate rows), the tied rows get the very float32 scores
the plain loop computes (from aligned row windows of the same product, once checked to match the full
product; else from the full product), so the picks are identical to it in every case.
"""

from __future__ import annotations

import numba
import numpy as np

from hfplug_gm_matching import kernels
from hfplug_gm_matching.row_split import RowSplitter

# Rows per window of the float32 product in a near tie: BLAS computes each row of an aligned window exactly as
# in the full product (checked at the first tie; if not, every tie recomputes the full product).
WINDOW = 4096
# Rows quantised per kernel call (each row on its own, so the block size changes nothing but peak memory).
QUANTIZE_ROWS = 1 << 15
UNIT_ROUNDOFF_32 = 2.0**-24
UNIT_ROUNDOFF_64 = 2.0**-53


def summation_bound(terms: int, unit_roundoff: float) -> float:
    """gamma_n = n u / (1 - n u): |fl(sum of n products) - exact| <= gamma_n * sum |products| (any order)."""
    nu = (terms + 1) * unit_roundoff
    return nu / (1.0 - nu)


class Int8Herding:
    """Exact picks for one float32 matrix, from an int8 copy built once (n * d bytes + 60 bytes a row).

    Each row is split along a unit ``direction`` (the herding target's: theta drifts along it, so its
    large part is then scored exactly) plus int8 codes of the remainder, and theta the same way, so the
    quantisation slack grows with the part of theta off that direction only.
    """

    def __init__(self, points: np.ndarray, direction: np.ndarray | None = None, threads: int | None = None) -> None:
        """``points``: a float32 matrix, or :class:`~.streamed.StreamedRows` (read once here, then only the
        candidates' rows). ``threads``: for the int8 pass (default: numba's thread count, ``NUMBA_NUM_THREADS``)."""
        self.points = points
        self.splitter = RowSplitter(numba.get_num_threads() if threads is None else threads)
        n, d = points.shape
        if direction is None or not np.any(direction):
            direction = np.zeros(d)
        # The norm in float64: a float32 norm leaves |direction| up to 6e-8 off 1, an error of the same size in
        # every row's estimate (beta * along) that no slack term accounts for.
        direction = np.asarray(direction, dtype=np.float64)
        norm = float(np.linalg.norm(direction))
        self.direction = direction / (norm if norm > 0 else 1.0)
        self.codes = np.empty((n, d), dtype=np.int8)
        self.scales = np.empty(n, dtype=np.float64)
        self.along = np.empty(n, dtype=np.float64)
        errors = np.empty(n, dtype=np.float64)
        largest = np.empty(n, dtype=np.float64)
        l1_codes = np.empty(n, dtype=np.float64)
        step = getattr(points, "block_rows", QUANTIZE_ROWS)
        for start in range(0, n, step):  # a block at a time: streamed rows are made as they are read
            part = slice(start, start + step)
            kernels.quantize_residuals(
                points[part],
                self.direction,
                self.along[part],
                self.codes[part],
                self.scales[part],
                errors[part],
                largest[part],
                l1_codes[part],
            )
        gamma32 = summation_bound(d, UNIT_ROUNDOFF_32)
        gamma64 = summation_bound(d, UNIT_ROUNDOFF_64)
        # slack_j = errors_j ||p||_1 + scales_j ||codes_j||_1 e_p + margin max|phi_j| ||theta||_1, where p is theta
        # off the direction and e_p its int8 error; the margin covers the float32 loop's own rounding (gamma32),
        # ours (gamma64) and, with 1e-9, every float64 product and sum of the split.
        self.exact_margin = gamma32 + gamma64 + 1e-9
        self.slack_terms = np.stack([errors, self.scales * l1_codes, self.exact_margin * largest])
        self.upper = np.empty(n, dtype=np.float64)
        self.lower = np.empty(n, dtype=np.float64)
        self.dots = np.empty(n, dtype=np.int32)
        self.fallbacks = 0
        self.rescored = 0
        # Unknown until the first near tie; streamed rows compute their full product window by window anyway.
        self.windows_match: bool | None = None if isinstance(points, np.ndarray) else True

    def close(self) -> None:
        """Stop the int8 pass's worker threads."""
        self.splitter.close()

    @property
    def nbytes(self) -> int:
        """Memory held besides the float32 matrix itself."""
        held = (self.direction, self.codes, self.scales, self.along, self.slack_terms, self.upper, self.lower)
        return sum(array.nbytes for array in held) + self.dots.nbytes

    def pick(self, theta: np.ndarray, taken: np.ndarray) -> int:
        """The row the plain float32 loop picks: argmax of ``points @ theta`` over rows not ``taken``
        (the first index among equal scores)."""
        best_lower = self.bound(theta, taken)
        candidates = kernels.rows_at_least(self.upper, best_lower)
        self.rescored += len(candidates)
        scores = np.empty(len(candidates), dtype=np.float64)
        mass = np.empty(len(candidates), dtype=np.float64)
        kernels.exact_scores(self.points[candidates], theta, scores, mass)
        radius = mass * self.exact_margin
        best = int(np.argmax(scores))
        rivals = np.delete(scores + radius, best)
        if rivals.size == 0 or scores[best] - radius[best] > rivals.max():
            return int(candidates[best])
        self.fallbacks += 1
        tied = candidates[scores + radius >= scores[best] - radius[best]]
        return self._float32_pick(tied, theta, taken)

    def _float32_pick(self, tied: np.ndarray, theta: np.ndarray, taken: np.ndarray) -> int:
        """Among rows within float32 rounding of each other, the one the plain loop picks: its own float32
        scores, from the aligned windows holding them (or the full product when windows were seen to differ)."""
        if self.windows_match is False:
            return dense_pick(self.points, theta, taken)
        windows = {int(row) // WINDOW: None for row in tied}
        for window in windows:
            windows[window] = self.points[window * WINDOW : (window + 1) * WINDOW] @ theta
        if self.windows_match is None:
            full = self.points @ theta
            self.windows_match = all(
                np.array_equal(part, full[w * WINDOW : (w + 1) * WINDOW]) for w, part in windows.items()
            )
            if not self.windows_match:
                return dense_pick(self.points, theta, taken)
        values = np.array([windows[int(row) // WINDOW][int(row) % WINDOW] for row in tied])
        return int(tied[int(np.argmax(values))])  # tied is ascending: the first maximum is the lowest index

    def bound(self, theta: np.ndarray, taken: np.ndarray) -> float:
        """Fill ``lower`` and ``upper`` with bounds on every row's float32 score ``points[j] @ theta``; return the
        largest lower bound (``-inf`` when every row is taken)."""
        theta64 = theta.astype(np.float64)
        beta = float(theta64 @ self.direction)
        off = theta64 - beta * self.direction
        largest = float(np.abs(off).max())
        off_scale = largest / 127.0 if largest > 0 else 1.0
        off_codes = np.clip(np.rint(off / off_scale), -127, 127)
        off_error = float(np.abs(off - off_scale * off_codes).max())
        weights = np.array([np.abs(off).sum(), off_error, np.abs(theta64).sum()])
        self.splitter.run(kernels.int8_dots, len(self.codes), self.codes, off_codes.astype(np.int8), self.dots)
        return kernels.bounds_from_dots(
            self.dots,
            self.scales,
            self.along,
            self.slack_terms,
            off_scale,
            beta,
            weights,
            taken,
            self.upper,
            self.lower,
        )


def dense_pick(points: np.ndarray, theta: np.ndarray, taken: np.ndarray) -> int:
    """The plain loop's pick: the float32 product over all rows, taken rows masked, first maximum."""
    scores = points @ theta
    scores[taken] = -np.inf
    return int(np.argmax(scores))
