"""The paper's two cheap diagnostics: the covariance ratio and reconstruction NMSE in dB."""

from __future__ import annotations

from typing import Any

import numpy as np

from hfplug.errors import DatasetError
from hfplug_mmd_prior.latents import as_latent_matrix


def covariance_ratio(z: Any) -> float:
    """``sum(diag(Cov)) / sum(|offdiag(Cov)|)`` of the latents (larger = less linearly correlated).

    It only sees linear dependence: ``z2 = z1^2 - 1`` has zero covariance and an infinite ratio,
    which is why the paper adds the Latent Predictability Score. ``inf`` when the off-diagonal is
    exactly zero.
    """
    array = as_latent_matrix(z, "covariance_ratio", min_rows=2, min_dims=2)
    covariance = np.cov(array, rowvar=False)
    off_diagonal = np.abs(covariance - np.diag(np.diag(covariance))).sum()
    diagonal = float(np.trace(covariance))
    return float("inf") if off_diagonal == 0 else diagonal / float(off_diagonal)


def nmse_db(x: Any, reconstruction: Any) -> float:
    """Normalised squared error ``10 log10(sum ||x - x_hat||^2 / sum ||x||^2)`` (more negative = better)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    if hasattr(reconstruction, "detach"):
        reconstruction = reconstruction.detach().cpu().numpy()
    x, reconstruction = np.asarray(x, dtype=np.float64), np.asarray(reconstruction, dtype=np.float64)
    if x.shape != reconstruction.shape:
        raise DatasetError(f"nmse_db: inputs {x.shape} and reconstructions {reconstruction.shape} differ in shape.")
    if not (np.isfinite(x).all() and np.isfinite(reconstruction).all()):
        raise DatasetError("nmse_db: inputs or reconstructions contain NaN or infinite values.")
    energy = float((x**2).sum())
    if energy == 0:
        raise DatasetError("nmse_db: the inputs are all zero, so the error cannot be normalised.")
    return float(10 * np.log10(float(((x - reconstruction) ** 2).sum()) / energy))
