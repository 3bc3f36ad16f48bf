"""Checks shared by every function that takes a latent matrix (samples x dimensions)."""

from __future__ import annotations

from typing import Any

import numpy as np

from hfplug.errors import DatasetError


def as_latent_matrix(z: Any, what: str, *, min_rows: int = 2, min_dims: int = 1) -> np.ndarray:
    """``z`` as a float64 ``(n, d)`` array, or a :class:`DatasetError` naming what is wrong."""
    if hasattr(z, "detach"):
        z = z.detach().cpu().numpy()
    array = np.asarray(z, dtype=np.float64)
    if array.ndim != 2:
        raise DatasetError(f"{what}: expected a 2-D (samples x dimensions) array, got shape {array.shape}.")
    if len(array) < min_rows:
        raise DatasetError(f"{what}: needs at least {min_rows} samples, got {len(array)}.")
    if array.shape[1] < min_dims:
        raise DatasetError(f"{what}: needs at least {min_dims} latent dimensions, got {array.shape[1]}.")
    if not np.isfinite(array).all():
        bad = int((~np.isfinite(array)).any(axis=1).sum())
        raise DatasetError(f"{what}: {bad} sample(s) contain NaN or infinite latents.")
    return array
