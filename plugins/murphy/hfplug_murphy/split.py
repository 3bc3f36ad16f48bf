"""Splitting a generation batch into ``steps_per_generation`` parts without losing rows.

trl's ``split_tensor_dict`` makes equal parts and drops a remainder, which GRPO never has (its
batch is a fixed multiple of the steps). A Murphy batch has one row per kept tree node, so its
size varies: parts here differ by at most one row, and with an exact multiple they are trl's.
"""

from __future__ import annotations

from typing import Any

import torch


def part_sizes(rows: int, parts: int) -> list[int]:
    """``rows`` spread over ``parts`` as evenly as possible, larger parts first."""
    return [rows // parts + (i < rows % parts) for i in range(parts)]


def split_rows(batch: dict[str, Any], parts: int) -> list[dict[str, Any]]:
    """Split every row-indexed value of ``batch``; scalars (0-d tensors) and None go to every part."""
    rows = len(next(v for v in batch.values() if isinstance(v, torch.Tensor) and v.ndim > 0))
    chunks: list[dict[str, Any]] = []
    start = 0
    for size in part_sizes(rows, parts):
        chunk = {}
        for key, value in batch.items():
            if (isinstance(value, torch.Tensor) and value.ndim > 0) or isinstance(value, list):
                chunk[key] = value[start : start + size]
            else:
                chunk[key] = value
        chunks.append(chunk)
        start += size
    return chunks
