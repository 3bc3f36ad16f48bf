"""Run a trained autoencoder over a dataset: codes, and the reconstruction error on the way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from hfplug_mmd_prior.inputs import InputCollator, default_rescale, first_example
from hfplug_mmd_prior.model import MMDAutoencoder


@dataclass
class EncodedDataset:
    """Codes of every example, and the squared error / energy sums that give NMSE."""

    latents: np.ndarray
    squared_error: float
    energy: float
    examples: int

    @property
    def nmse_db(self) -> float:
        return float(10 * np.log10(self.squared_error / self.energy))


def encode_dataset(
    model: MMDAutoencoder,
    dataset: Any,
    *,
    column: str = "pixel_values",
    rescale_factor: float | None = None,
    batch_size: int = 512,
    max_examples: int | None = None,
    progress: bool = False,
) -> EncodedDataset:
    """Encode ``dataset[column]`` (the posterior mean for a VAE) and measure reconstruction NMSE."""
    example = first_example(dataset, column)
    if max_examples is not None:
        dataset = dataset.select(range(min(max_examples, len(dataset))))
    collate = InputCollator(column, model.input_shape, default_rescale(example, rescale_factor))
    rows = dataset.with_format("numpy", columns=[column])
    starts = range(0, len(rows), batch_size)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="encoding", unit="batch")
    model.eval()
    codes, squared_error, energy = [], 0.0, 0.0
    with torch.no_grad():
        for start in starts:
            batch = rows[start : start + batch_size][column]
            inputs = collate([{column: item} for item in batch])["pixel_values"]
            latents = model.encode(inputs)
            reconstruction = model.decode(latents)
            codes.append(latents.numpy())
            squared_error += float(((inputs - reconstruction) ** 2).sum())
            energy += float((inputs**2).sum())
    return EncodedDataset(np.concatenate(codes).astype(np.float64), squared_error, energy, len(rows))
