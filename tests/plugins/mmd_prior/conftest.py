"""Shared fixtures for the mmd_prior tests: small toy datasets and a fast CPU config factory."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from datasets import Dataset

from hfplug.testing import fast_cpu_config

torch.set_num_threads(1)


def square_dataset(n: int = 512, seed: int = 0) -> Dataset:
    """2-D points uniform on a square: far from Gaussian, so an encoder has to reshape them."""
    points = np.random.default_rng(seed).uniform(-1, 1, size=(n, 2)).astype(np.float32)
    return Dataset.from_dict({"pixel_values": points})


@pytest.fixture
def toy_points() -> Dataset:
    return square_dataset()


@pytest.fixture
def tiny_images() -> Dataset:
    """Eight random 28x28 uint8 images (the layout of asset:mnist)."""
    pixels = np.random.default_rng(0).integers(0, 256, size=(8, 28, 28), dtype=np.uint8)
    return Dataset.from_dict({"pixel_values": pixels, "label": list(range(8))})


@pytest.fixture
def mmd_args(tmp_path):
    """``mmd_args(**overrides)`` -> a fast CPU MMDAEConfig writing under tmp_path."""
    from hfplug_mmd_prior.config import MMDAEConfig

    def make(**overrides: Any) -> MMDAEConfig:
        fields = {"per_device_train_batch_size": 64, "architecture": "mlp", "hidden_sizes": [32, 32]}
        fields.update(overrides)
        output_dir = fields.pop("output_dir", tmp_path / "out")
        return fast_cpu_config(MMDAEConfig, output_dir, **fields)

    return make
