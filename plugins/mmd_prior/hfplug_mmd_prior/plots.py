"""PNG figures: latent traversals and per-dimension marginals against the prior."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hfplug.errors import ConfigError
from hfplug_mmd_prior.model import MMDAutoencoder


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only; never open a window
    import matplotlib.pyplot as plt

    return plt


def as_image(values: np.ndarray) -> np.ndarray:
    """One decoded example as a 2-D (grey) or H x W x 3 array for ``imshow``."""
    if values.ndim == 3 and values.shape[0] == 1:
        return values[0]
    if values.ndim == 3 and values.shape[0] == 3:
        return np.transpose(values, (1, 2, 0))
    side = math.isqrt(values.size)
    if values.ndim == 1 and side * side == values.size:
        return values.reshape(side, side)
    raise ConfigError(f"traverse: cannot show inputs of shape {list(values.shape)} as images.")


def traversal_values(latents: np.ndarray, steps: int, quantile: float) -> np.ndarray:
    """``steps`` values per dimension, evenly spaced between its ``quantile`` and ``1 - quantile`` (d x steps)."""
    low = np.quantile(latents, quantile, axis=0)
    high = np.quantile(latents, 1 - quantile, axis=0)
    return np.linspace(low, high, steps).T


def traversal_grid(model: MMDAutoencoder, anchor: np.ndarray, values: np.ndarray, path: str | Path) -> Path:
    """Row ``i``: ``anchor`` with dimension ``i`` set to each of ``values[i]``, decoded."""
    dims, steps = values.shape
    codes = np.repeat(anchor[None, None, :], dims * steps, axis=0).reshape(dims, steps, -1).copy()
    for i in range(dims):
        codes[i, :, i] = values[i]
    with torch.no_grad():
        decoded = model.decode(torch.as_tensor(codes.reshape(dims * steps, -1), dtype=torch.float32)).numpy()
    plt = _pyplot()
    figure, axes = plt.subplots(dims, steps, figsize=(steps * 0.8, dims * 0.8), squeeze=False)
    for index, axis in enumerate(axes.flat):
        axis.imshow(np.clip(as_image(decoded[index]), 0, 1), cmap="gray", vmin=0, vmax=1)
        axis.set_xticks([])
        axis.set_yticks([])
    for i in range(dims):
        axes[i, 0].set_ylabel(f"z{i}", rotation=0, labelpad=12, fontsize=8)
    figure.suptitle("latent traversals (rows: dimension; columns: its 2nd..98th percentile)", fontsize=9)
    return _save(figure, path)


def marginal_histograms(latents: np.ndarray, prior_samples: np.ndarray, prior_label: str, path: str | Path) -> Path:
    """One panel per dimension: the codes' histogram over the prior samples' histogram."""
    dims = latents.shape[1]
    columns = min(dims, 4)
    rows = math.ceil(dims / columns)
    plt = _pyplot()
    figure, axes = plt.subplots(rows, columns, figsize=(columns * 2.6, rows * 2.0), squeeze=False)
    for i, axis in enumerate(axes.flat):
        if i >= dims:
            axis.axis("off")
            continue
        both = np.concatenate([latents[:, i], prior_samples[:, i]])
        bins = np.linspace(np.quantile(both, 0.001), np.quantile(both, 0.999), 40)
        axis.hist(prior_samples[:, i], bins=bins, density=True, alpha=0.45, label=prior_label, color="tab:orange")
        axis.hist(latents[:, i], bins=bins, density=True, histtype="step", label="codes", color="tab:blue")
        axis.set_title(f"z{i}", fontsize=8)
        axis.tick_params(labelsize=6)
    axes.flat[0].legend(fontsize=6)
    figure.suptitle("marginals of the codes against the prior", fontsize=9)
    return _save(figure, path)


def _save(figure: Any, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    _pyplot().close(figure)
    return path
