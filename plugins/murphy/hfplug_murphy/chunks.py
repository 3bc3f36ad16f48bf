"""Training on a tree's rows in chunks, so that memory follows the chunk size, not the size of the tree.

trl's loss runs one forward pass over the whole step's rows. A Murphy step has one row per kept
tree node, so with every program of turn 1 failing it has G children per failure on top: a
SmolLM2 step on 2 tasks needed more than 24 GB on a CPU machine. The rows are therefore split into
chunks, each chunk's loss is weighted so that the chunk losses add up to trl's loss on all rows,
and each chunk is backpropagated before the next one's forward pass.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from hfplug_murphy.split import split_rows

# trl normalises these by the token count of the whole generation batch (num_items_in_batch): chunk losses add up.
GLOBAL_TOKEN_NORMALISED = ("dapo", "cispo", "vespo")
# Normalised by the number of completion tokens in the batch passed to the loss.
BATCH_TOKEN_NORMALISED = ("bnpo",)
# A mean over the rows of the batch passed to the loss (of each row's token mean, sum or sequence loss).
ROW_MEAN = ("grpo", "sapo", "dr_grpo", "luspo")


def chunk_rows(inputs: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    """``inputs`` split into as few chunks of at most ``limit`` rows as possible (sizes differ by at most one)."""
    rows = inputs["completion_ids"].size(0)
    return split_rows(inputs, math.ceil(rows / limit))


def chunk_weights(loss_type: str, chunks: list[dict[str, Any]]) -> list[float]:
    """The factor each chunk's trl loss gets so that the weighted sum equals trl's loss on all rows."""
    if loss_type in GLOBAL_TOKEN_NORMALISED:
        return [1.0] * len(chunks)
    if loss_type in BATCH_TOKEN_NORMALISED:
        tokens = [float(chunk["completion_mask"].sum()) for chunk in chunks]
        total = sum(tokens)
        return [t / total if total else 1.0 / len(chunks) for t in tokens]
    if loss_type in ROW_MEAN:
        rows = [chunk["completion_ids"].size(0) for chunk in chunks]
        return [r / sum(rows) for r in rows]
    raise ValueError(f"Murphy cannot split the loss type {loss_type!r} into chunks; set max_rows_per_forward=0.")


def process_share(loss_type: str, inputs: dict[str, Any], processes: int, total: Callable[[float], float]) -> float:
    """The factor that turns trl's loss on one process's rows into that process's share of the loss one process
    would compute on every process's rows, which data parallelism's gradient mean over ``processes`` completes.

    trl's token-normalised losses already divide by every process's tokens (1). Its row means divide by this
    process's rows and ``bnpo`` by its tokens: in GRPO every process has as many rows, but Murphy's trees give
    each process its own count (padded with empty rows, ``inputs["is_node"]`` False), so each divisor is replaced
    by the total over processes (``total``: a sum over processes, a collective)."""
    if loss_type in GLOBAL_TOKEN_NORMALISED:
        return 1.0
    if loss_type in BATCH_TOKEN_NORMALISED:
        divided_by = counted = float(inputs["completion_mask"].sum())
    elif loss_type in ROW_MEAN:
        divided_by, counted = float(inputs["completion_ids"].size(0)), float(inputs["is_node"].sum())
    else:
        raise ValueError(f"Murphy cannot share the loss type {loss_type!r} between processes.")
    everywhere = total(counted)
    return processes * max(divided_by, 1.0) / everywhere if everywhere else 1.0


def weighted_chunk_losses(
    chunks: list[dict[str, Any]], weights: list[float], loss_of: Any, backward: Any
) -> torch.Tensor:
    """Backpropagate every chunk but the last one at once; return the last one's loss (with its graph) plus the
    others' values, so that the caller's backward completes the accumulated gradient and its log shows the total."""
    done = None
    for index, (chunk, weight) in enumerate(zip(chunks, weights, strict=True)):
        loss = loss_of(chunk) * weight
        if index == len(chunks) - 1:
            return loss if done is None else loss + done
        backward(loss)
        done = loss.detach() if done is None else done + loss.detach()
    raise ValueError("no rows to train on")
