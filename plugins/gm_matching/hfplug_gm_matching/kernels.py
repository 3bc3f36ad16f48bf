"""Numba kernels of the bounded int8 herding pick (see :mod:`hfplug_gm_matching.bounded`).

Each kernel reads the int8 copy (a quarter of the float32 bytes) or only a handful of float32 rows.
Integer dot products are exact (|sum| <= d * 127 * 127 < 2**31 for d < 133 000), so every error term
of the bound comes from quantisation, which is measured, not estimated.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(nogil=True, cache=True)
def int8_dots(codes: np.ndarray, theta_codes: np.ndarray, dots: np.ndarray, start: int, stop: int) -> None:
    """``dots[j] = <codes[j], theta_codes>`` for rows ``start <= j < stop``, exact: every product fits in int16
    (|p| <= 127 * 127 < 2**15), the sum in int32 for d < 133 000.

    The integer sum has a loop nest of its own on purpose: fused with each row's float64 bound arithmetic (the
    previous kernel) the compiler did not vectorise it, and the pass took 4.0 ms instead of 1.7 ms at
    100k x 384 here (``benchmarks/gm_matching_kernels.py``); int16 and int32 products measured the same within
    10%. Threads split the rows through :class:`~hfplug_gm_matching.row_split.RowSplitter`.
    """
    d = codes.shape[1]
    for j in range(start, stop):
        row = codes[j]
        acc = np.int32(0)
        for k in range(d):
            acc += np.int32(np.int16(row[k]) * np.int16(theta_codes[k]))
        dots[j] = acc


@njit(cache=True)
def bounds_from_dots(
    dots: np.ndarray,
    scales: np.ndarray,
    along: np.ndarray,
    slack_terms: np.ndarray,
    theta_scale: float,
    beta: float,
    slack_weights: np.ndarray,
    taken: np.ndarray,
    upper: np.ndarray,
    lower: np.ndarray,
) -> float:
    """For every row j: ``upper[j] = a_j + slack_j`` and ``lower[j] = a_j - slack_j`` with
    ``a_j = beta * along[j] + scales[j] * theta_scale * dots[j]`` and
    ``slack_j = sum_t slack_terms[t, j] * slack_weights[t]``; taken rows get both bounds ``-inf``.

    Returns the largest lower bound. Serial: a few float64 operations a row, a small fraction of the int8 pass.
    """
    n = dots.shape[0]
    terms = slack_terms.shape[0]
    best = -np.inf
    for j in range(n):
        if taken[j]:
            upper[j] = -np.inf
            lower[j] = -np.inf
            continue
        approx = beta * along[j] + scales[j] * theta_scale * np.float64(dots[j])
        slack = 0.0
        for t in range(terms):
            slack += slack_terms[t, j] * slack_weights[t]
        upper[j] = approx + slack
        low = approx - slack
        lower[j] = low
        if low > best:
            best = low
    return best


@njit(cache=True)
def rows_at_least(upper: np.ndarray, floor: float) -> np.ndarray:
    """Indices (ascending) of the rows whose upper bound reaches ``floor``."""
    count = 0
    for j in range(upper.shape[0]):
        if upper[j] >= floor:
            count += 1
    out = np.empty(count, dtype=np.int64)
    count = 0
    for j in range(upper.shape[0]):
        if upper[j] >= floor:
            out[count] = j
            count += 1
    return out


@njit(cache=True)
def exact_scores(rows: np.ndarray, theta: np.ndarray, scores: np.ndarray, mass: np.ndarray) -> None:
    """float64 ``<rows[i], theta>`` (products of float32 values are exact in float64) and sum |products|."""
    d = rows.shape[1]
    for i in range(rows.shape[0]):
        row = rows[i]
        total = 0.0
        absolute = 0.0
        for k in range(d):
            product = np.float64(row[k]) * np.float64(theta[k])
            total += product
            absolute += abs(product)
        scores[i] = total
        mass[i] = absolute


@njit(parallel=True, cache=True)
def quantize_residuals(
    matrix: np.ndarray,
    direction: np.ndarray,
    along: np.ndarray,
    codes: np.ndarray,
    scales: np.ndarray,
    errors: np.ndarray,
    largest: np.ndarray,
    code_l1: np.ndarray,
) -> None:
    """Split each row as ``matrix[j] = along[j] * direction + scales[j] * codes[j] + error_j`` (``direction``
    a unit vector, ``along[j] = <matrix[j], direction>`` in float64, int8 codes of the remainder).

    ``errors[j]`` = max_k |error_jk| actually made (the bound uses it, not a nominal scale / 2);
    ``largest[j]`` = max_k |matrix[j, k]|; ``code_l1[j]`` = sum_k |codes[j, k]|.
    """
    n, d = matrix.shape
    for j in prange(n):
        projection = 0.0
        biggest = 0.0
        for k in range(d):
            value = np.float64(matrix[j, k])
            projection += value * direction[k]
            biggest = max(biggest, abs(value))
        rest_max = 0.0
        for k in range(d):
            rest_max = max(rest_max, abs(np.float64(matrix[j, k]) - projection * direction[k]))
        scale = rest_max / 127.0 if rest_max > 0 else 1.0
        worst = 0.0
        total = 0.0
        for k in range(d):
            rest = np.float64(matrix[j, k]) - projection * direction[k]
            code = min(127.0, max(-127.0, np.rint(rest / scale)))
            codes[j, k] = np.int8(code)
            worst = max(worst, abs(rest - scale * code))
            total += abs(code)
        code_l1[j] = total
        along[j] = projection
        scales[j] = scale
        errors[j] = worst
        largest[j] = biggest
