"""FLOW's weights as a plain function: frozen model + tokenizer + dataset -> dataset with weight columns.

One batched, no-grad forward per sample gives ``l_i`` (mean response-token loss) and the token
losses ``l_it``; ``tau = median_i l_i``; ``w_i = exp(-l_i / tau)`` (sequence mode) and, in token
mode, ``w_it = exp(-l_it / tau)`` as well.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from hfplug.errors import DatasetError
from hfplug.sft_tokens import IGNORE_INDEX, tokenize_sft_row
from hfplug_flow import LOSS_COLUMN, TOKEN_WEIGHTS_COLUMN, WEIGHT_COLUMN

NAN_POLICIES = ("error", "zero")
MODES = ("sequence", "token")


@dataclass
class BaseLosses:
    """What the frozen model says about each sample: its mean response loss and its per-position losses
    (aligned with ``labels``: entry ``t`` is the loss of predicting token ``t``; 0 where not a target)."""

    sample_losses: list[float]
    token_losses: list[list[float]]


@torch.no_grad()
def base_model_losses(
    model: Any, tokenized: list[tuple[list[int], list[int]]], *, batch_size: int, pad_token_id: int
) -> BaseLosses:
    """One no-grad forward per sample, in length-sorted batches; a sample without response tokens gets NaN."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    sample_losses: list[float] = [math.nan] * len(tokenized)
    token_losses: list[list[float]] = [[] for _ in tokenized]
    order = sorted(range(len(tokenized)), key=lambda i: len(tokenized[i][0]))
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        width = max(len(tokenized[i][0]) for i in rows)
        input_ids = torch.full((len(rows), width), pad_token_id, dtype=torch.long)
        labels = torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.long)
        attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
        for r, i in enumerate(rows):
            ids, lab = tokenized[i]
            input_ids[r, : len(ids)] = torch.tensor(ids)
            labels[r, : len(lab)] = torch.tensor(lab)
            attention_mask[r, : len(ids)] = 1
        logits = model(input_ids=input_ids.to(device), attention_mask=attention_mask.to(device)).logits
        targets = labels[:, 1:].to(device)
        for r, i in enumerate(rows):
            # Row by row, so the float32 copy of the logits is one sequence, not the whole batch.
            nll = F.cross_entropy(logits[r, :-1].float(), targets[r], ignore_index=IGNORE_INDEX, reduction="none")
            valid = targets[r] != IGNORE_INDEX
            length = len(tokenized[i][0])
            token_losses[i] = [0.0, *nll[: length - 1].tolist()]
            if valid.any():
                sample_losses[i] = float(nll[valid].mean())
    model.train(was_training)
    return BaseLosses(sample_losses, token_losses)


def weights_from_losses(losses: list[float], nan_policy: str = "error") -> tuple[float, list[float]]:
    """``(tau, weights)``: ``tau`` the median of the finite losses, ``w_i = exp(-l_i / tau)``.

    A non-finite loss is an error naming the rows (``nan_policy='error'``) or gets weight 0
    (``'zero'``, as the official code does).
    """
    if nan_policy not in NAN_POLICIES:
        raise DatasetError(f"nan_policy must be one of {NAN_POLICIES}, got {nan_policy!r}.")
    values = np.asarray(losses, dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size and nan_policy == "error":
        shown = ", ".join(str(i) for i in bad[:10]) + (" ..." if bad.size > 10 else "")
        raise DatasetError(
            f"FLOW: the base model's loss is NaN or infinite for {bad.size} sample(s) (rows {shown}); a sample "
            "without response tokens (empty completion, or cut off by max_length) has no loss. Fix or drop them, "
            "or set nan_policy='zero' to give them weight 0."
        )
    if bad.size == values.size:
        raise DatasetError("FLOW: no sample has a finite base-model loss, so there is no median to weight by.")
    tau = float(np.median(values[np.isfinite(values)]))
    if tau <= 0:
        raise DatasetError(
            f"FLOW: the median base-model loss is {tau}; with tau <= 0 the weights exp(-l/tau) are undefined."
        )
    weights = np.where(np.isfinite(values), np.exp(-values / tau), 0.0)
    return tau, weights.tolist()


def tokenize_dataset(
    dataset: Any, tokenizer: Any, *, max_length: int | None, text_field: str = "text"
) -> list[tuple[list[int], list[int]]]:
    """Every row as ``(input_ids, labels)`` with the prompt masked (see :mod:`hfplug.sft_tokens`)."""
    # FLOW's sample loss is over the response: the last assistant turn of a conversation.
    return [
        tokenize_sft_row(
            row,
            tokenizer,
            max_length=max_length,
            text_field=text_field,
            messages_loss="last_assistant",
            what="flow_weights",
        )
        for row in dataset
    ]


def add_weight_columns(
    dataset: Any,
    tokenized: list[tuple[list[int], list[int]]],
    base: BaseLosses,
    *,
    mode: str = "sequence",
    nan_policy: str = "error",
) -> Any:
    """The dataset plus ``flow_loss`` and ``flow_weight`` (and, in token mode, ``input_ids``, ``labels`` and
    ``flow_token_weights``, so the trainer trains on exactly the tokens the weights were computed for)."""
    if mode not in MODES:
        raise DatasetError(f"FLOW mode must be one of {MODES}, got {mode!r}.")
    tau, weights = weights_from_losses(base.sample_losses, nan_policy)
    columns = {LOSS_COLUMN: base.sample_losses, WEIGHT_COLUMN: weights}
    if mode == "token":
        columns["input_ids"] = [ids for ids, _ in tokenized]
        columns["labels"] = [labels for _, labels in tokenized]
        columns[TOKEN_WEIGHTS_COLUMN] = [
            [
                math.exp(-loss / tau) if label != IGNORE_INDEX else 0.0
                for loss, label in zip(losses, labels, strict=True)
            ]
            for losses, (_, labels) in zip(base.token_losses, tokenized, strict=True)
        ]
    existing = [name for name in columns if name in dataset.column_names]
    dataset = dataset.remove_columns(existing) if existing else dataset
    for name, values in columns.items():
        dataset = dataset.add_column(name, values)
    return dataset


def compute_flow_weights(
    model: Any,
    tokenizer: Any,
    dataset: Any,
    *,
    mode: str = "sequence",
    batch_size: int = 8,
    max_length: int | None = 1024,
    nan_policy: str = "error",
    text_field: str = "text",
) -> Any:
    """Add FLOW weight columns to ``dataset`` using the frozen ``model`` (no host, no cache).

    ``dataset`` needs ``messages``, ``prompt``+``completion`` or ``text``. Returns a new dataset with
    ``flow_loss``/``flow_weight`` (see :func:`add_weight_columns` for token mode).
    """
    from hfplug.data import check_columns

    check_columns(dataset, [["prompt", "completion"], ["messages"], [text_field]], what="flow_weights")
    tokenized = tokenize_dataset(dataset, tokenizer, max_length=max_length, text_field=text_field)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    base = base_model_losses(model, tokenized, batch_size=batch_size, pad_token_id=pad)
    return add_weight_columns(dataset, tokenized, base, mode=mode, nan_policy=nan_policy)
