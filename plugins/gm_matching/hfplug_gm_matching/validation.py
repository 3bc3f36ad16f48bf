"""Turn what users pass as embeddings into one checked float32 matrix, or say clearly why it cannot be used."""

from __future__ import annotations

from typing import Any

import numpy as np

from hfplug.errors import DatasetError

# Rows checked per block for NaN/inf, so a 1M x 384 matrix never needs a full-size boolean temporary.
CHECK_ROWS = 1 << 16


def embedding_matrix(embeddings: Any, *, what: str = "embeddings") -> np.ndarray:
    """A C-contiguous float32 ``(n, d)`` array of ``embeddings`` (array, tensor or list of equal-length rows).

    Raises :class:`DatasetError` for ragged rows, a shape that is not 2-D, an empty matrix, non-numeric
    values and NaN/inf entries, naming the first offending row. A float32 C-contiguous array is used as is
    (no copy), so callers must not modify the result in place.
    """
    matrix = _as_array(embeddings, what)
    if matrix.ndim != 2:
        raise DatasetError(f"{what} must be a 2-D matrix (rows x dimensions), got shape {tuple(matrix.shape)}.")
    if matrix.shape[0] == 0 or matrix.shape[1] == 0:
        raise DatasetError(f"{what} is empty (shape {tuple(matrix.shape)}); there is nothing to select from.")
    if not (np.issubdtype(matrix.dtype, np.floating) or np.issubdtype(matrix.dtype, np.integer)):
        raise DatasetError(f"{what} must hold numbers, got dtype {matrix.dtype}.")
    with np.errstate(over="ignore"):  # too large for float32 becomes inf, reported by check_finite
        matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    check_finite(matrix, what=what)
    return matrix


def check_finite(matrix: np.ndarray, *, what: str = "embeddings") -> None:
    """Raise :class:`DatasetError` naming the first row with a NaN or infinite entry (checked block by block).

    Values too large for float32 become inf in the cast above, so they are caught here as well.
    """
    for start in range(0, matrix.shape[0], CHECK_ROWS):
        block = matrix[start : start + CHECK_ROWS]
        bad_rows = np.flatnonzero(~np.isfinite(block).all(axis=1))
        if bad_rows.size:
            row = start + int(bad_rows[0])
            count = int((~np.isfinite(matrix).all(axis=1)).sum())
            raise DatasetError(
                f"{what}: row {row} has a NaN or infinite value ({count} such rows in all); clean or drop those "
                "rows first: they would make every distance and median meaningless."
            )


def _as_array(embeddings: Any, what: str) -> np.ndarray:
    if hasattr(embeddings, "detach"):  # a torch tensor, possibly on a GPU
        return embeddings.detach().float().cpu().numpy()
    if isinstance(embeddings, np.ndarray) and embeddings.dtype != object:
        return embeddings
    rows = list(embeddings)
    lengths = {len(row) if hasattr(row, "__len__") else -1 for row in rows}
    if len(lengths) > 1:
        first_length = len(rows[0]) if hasattr(rows[0], "__len__") else None
        for index, row in enumerate(rows):
            length = len(row) if hasattr(row, "__len__") else None
            if length != first_length:
                raise DatasetError(
                    f"{what} are ragged: row 0 has {first_length} values but row {index} has {length}; every "
                    "embedding must have the same length."
                )
    try:
        return np.asarray(rows, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise DatasetError(f"{what} must be numbers in equal-length rows: {error}") from error
