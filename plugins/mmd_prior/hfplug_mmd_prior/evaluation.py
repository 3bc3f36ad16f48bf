"""What ``hfplug mmd-ae eval`` and ``traverse`` do, as functions (the benchmark calls them too)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hfplug.errors import ConfigError
from hfplug_mmd_prior.encoding import encode_dataset
from hfplug_mmd_prior.model import MMDAutoencoder
from hfplug_mmd_prior.predictability import check_regressor, predictability_report
from hfplug_mmd_prior.statistics import covariance_ratio


def load_autoencoder(model_path: str) -> MMDAutoencoder:
    """An ``MMDAutoencoder`` from a folder, ``hub:REPO[@rev]`` or ``asset:`` name."""
    from hfplug.assets import resolve_model_path

    local = resolve_model_path(model_path)
    if not Path(local, "config.json").is_file():
        raise ConfigError(f"model: {model_path} is not an mmd_ae folder (no config.json with its settings).")
    # huggingface_hub's mixin prints "Loading weights from local directory" to stdout, which would
    # corrupt `eval --json`; keep stdout for results.
    with contextlib.redirect_stdout(sys.stderr):
        return MMDAutoencoder.from_pretrained(local).eval()


def load_split(dataset_spec: str, split: str) -> Any:
    from hfplug.datasets_io import load_split as host_load_split

    return host_load_split(dataset_spec, split=split)


def evaluate_autoencoder(
    model: str | MMDAutoencoder,
    dataset_spec: str | Any,
    *,
    split: str = "test",
    column: str = "pixel_values",
    max_examples: int | None = 10000,
    regressors: Sequence[str] = ("mlp", "gbm"),
    lps_samples: int = 5000,
    seed: int = 0,
    save_latents: str | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Encode the split and return NMSE (dB), covariance ratio and LPS per regressor (+ per-dim R^2)."""
    for regressor in regressors:
        check_regressor(regressor)  # before any heavy work
    if save_latents and Path(save_latents).suffix not in (".npy", ".pt", ".safetensors"):
        raise ConfigError(f"--save-latents: {save_latents} must end in .npy, .pt or .safetensors.")
    autoencoder = load_autoencoder(model) if isinstance(model, str) else model.eval()
    dataset = load_split(dataset_spec, split) if isinstance(dataset_spec, str) else dataset_spec
    encoded = encode_dataset(autoencoder, dataset, column=column, max_examples=max_examples, progress=progress)
    results: dict[str, Any] = {
        "examples": encoded.examples,
        "latent_dim": autoencoder.latent_dim,
        "objective": autoencoder.objective,
        "nmse_db": encoded.nmse_db,
        "covariance_ratio": covariance_ratio(encoded.latents),
    }
    for regressor in regressors:
        report = predictability_report(encoded.latents, regressor, seed, max_samples=lps_samples, progress=progress)
        results[f"lps_{regressor}"] = report.lps
        results[f"r2_per_dim_{regressor}"] = report.r2_per_dim
    if save_latents:
        from hfplug_mmd_prior.priors import save_latent_bank

        save_latent_bank(torch.as_tensor(encoded.latents), save_latents)
    return results


def traverse_autoencoder(
    model_path: str,
    dataset_spec: str,
    output: Path,
    *,
    split: str = "test",
    column: str = "pixel_values",
    max_examples: int | None = 10000,
    steps: int = 9,
    anchor: int = 0,
    prior_spec: str | None = None,
    seed: int = 0,
) -> list[Path]:
    """Write ``traversal.png`` and ``marginals.png`` into ``output``; returns their paths."""
    from hfplug_mmd_prior.plots import as_image, marginal_histograms, traversal_grid, traversal_values
    from hfplug_mmd_prior.priors import build_prior

    if steps < 2:
        raise ConfigError(f"--steps: need at least 2 values per dimension, got {steps}.")
    autoencoder = load_autoencoder(model_path)
    as_image(np.zeros(autoencoder.input_shape))  # fails now, before encoding, for non-image inputs
    spec = prior_spec or (autoencoder.prior_spec if autoencoder.objective == "mmd" else "gaussian")
    prior = build_prior(spec, autoencoder.latent_dim)
    dataset = load_split(dataset_spec, split)
    encoded = encode_dataset(autoencoder, dataset, column=column, max_examples=max_examples, progress=True)
    if not 0 <= anchor < len(encoded.latents):
        raise ConfigError(f"--anchor: {anchor} is not an example index (0..{len(encoded.latents) - 1}).")
    generator = torch.Generator().manual_seed(seed)
    prior_samples = prior.sample(len(encoded.latents), generator=generator).numpy()
    label = "prior" if autoencoder.objective == "mmd" or prior_spec else "N(0, I) reference"
    values = traversal_values(encoded.latents, steps, quantile=0.02)
    return [
        traversal_grid(autoencoder, encoded.latents[anchor], values, output / "traversal.png"),
        marginal_histograms(encoded.latents, prior_samples, label, output / "marginals.png"),
    ]
