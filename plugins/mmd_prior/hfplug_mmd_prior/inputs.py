"""From dataset rows to input tensors: the column, the example shape and the pixel scale."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from hfplug.errors import ConfigError, DatasetError
from hfplug_mmd_prior.networks import IMAGE_SIDE

FLAT_IMAGE = IMAGE_SIDE * IMAGE_SIDE


def first_example(dataset: Any, column: str) -> np.ndarray:
    """The first row's ``column`` as an array, after checking the dataset has rows and that column."""
    if dataset is None or len(dataset) == 0:
        raise DatasetError("The dataset for trainer 'mmd_ae' is empty.")
    columns = list(getattr(dataset, "column_names", None) or [])
    if column not in columns:
        raise DatasetError(
            f"input_column: the dataset has no column {column!r}; it has: {', '.join(columns) or '(none)'}."
        )
    return np.asarray(dataset[0][column])


def infer_input_shape(example: np.ndarray, architecture: str, given: Sequence[int] | None) -> tuple[int, ...]:
    """The shape the networks see: ``given`` if set (checked against the data), else a flat 784
    vector or a 28x28 array becomes ``(1, 28, 28)`` unless ``architecture`` is ``mlp``."""
    if given:
        shape = tuple(int(s) for s in given)
        if int(np.prod(shape)) != example.size:
            raise ConfigError(
                f"input_shape: {list(shape)} holds {int(np.prod(shape))} values; examples have {example.size}."
            )
        return shape
    if architecture != "mlp" and example.size == FLAT_IMAGE and example.ndim in (1, 2):
        return (1, IMAGE_SIDE, IMAGE_SIDE)
    return tuple(example.shape)


def pick_architecture(architecture: str, input_shape: Sequence[int]) -> str:
    """``auto`` -> ``conv`` for ``(c, 28, 28)`` inputs, ``mlp`` for everything else."""
    if architecture != "auto":
        return architecture
    return "conv" if len(input_shape) == 3 and tuple(input_shape[1:]) == (IMAGE_SIDE, IMAGE_SIDE) else "mlp"


def default_rescale(example: np.ndarray, rescale_factor: float | None) -> float:
    """``rescale_factor`` if given; 1/255 for integer pixels, 1 for floats."""
    if rescale_factor is not None:
        return float(rescale_factor)
    return 1.0 / 255.0 if np.issubdtype(example.dtype, np.integer) else 1.0


@dataclass
class InputCollator:
    """Stacks ``column`` of a list of rows into a float tensor ``(n, *input_shape)`` named ``pixel_values``."""

    column: str
    input_shape: tuple[int, ...]
    scale: float = 1.0

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        try:
            stacked = np.stack([np.asarray(row[self.column]) for row in rows])
        except ValueError as exc:
            raise DatasetError(f"input_column {self.column!r}: examples differ in shape ({exc}).") from exc
        values = torch.as_tensor(stacked, dtype=torch.float32) * self.scale
        if values[0].numel() != int(np.prod(self.input_shape)):
            raise DatasetError(
                f"input_column {self.column!r}: an example has {values[0].numel()} values, the model takes "
                f"{list(self.input_shape)}."
            )
        if not torch.isfinite(values).all():
            raise DatasetError(f"input_column {self.column!r}: a batch contains NaN or infinite values.")
        return {"pixel_values": values.reshape(len(rows), *self.input_shape)}
