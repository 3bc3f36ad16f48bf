"""Mix context-free rows into tokenized task rows at a configured ratio."""

from __future__ import annotations

import random
from typing import Any

from hfplug.errors import ConfigError, DatasetError
from hfplug_context_free.task_tokens import IGNORE_INDEX, TASK_COLUMNS, tokenize_task_row


def context_free_count(num_task_rows: int, ratio: float) -> int:
    """How many context-free rows make them a fraction ``ratio`` of the mix: round(ratio * n / (1 - ratio))."""
    if not 0.0 <= ratio < 1.0:
        raise ConfigError(f"context_free: ratio must be in [0, 1), got {ratio!r}.")
    return round(ratio * num_task_rows / (1.0 - ratio))


def context_free_row(start_token_id: int, sample: list[int]) -> dict[str, Any]:
    """One training row: input = start token + sample; every sampled token is a label."""
    return {"input_ids": [start_token_id, *sample], "labels": [IGNORE_INDEX, *sample], "context_free": True}


def pick_samples(samples: list[list[int]], count: int, seed: int) -> list[list[int]]:
    """``count`` samples: a seeded subset when there are more, each reused in turn when there are fewer."""
    if count == 0:
        return []
    if not samples:
        raise DatasetError("context_free: no context-free samples were generated.")
    if count <= len(samples):
        return random.Random(seed).sample(samples, count)
    return [samples[i % len(samples)] for i in range(count)]


def mix_context_free(
    dataset: Any,
    samples: list[list[int]],
    tokenizer: Any,
    *,
    start_token_id: int,
    ratio: float,
    seed: int = 0,
) -> Any:
    """A shuffled, pre-tokenized ``datasets.Dataset`` of task rows plus context-free rows.

    Columns: ``input_ids``, ``labels`` (-100 outside the loss) and ``context_free`` (bool). The
    context-free rows are a fraction ``ratio`` of the result (up to rounding). trl's SFTTrainer sees
    ``input_ids``, skips its own tokenization and uses ``labels`` as is.
    """
    from datasets import Dataset

    from hfplug.data import check_columns

    columns = check_columns(dataset, TASK_COLUMNS, what="context_free")
    rows = [{**tokenize_task_row(row, tokenizer, columns), "context_free": False} for row in dataset]
    count = context_free_count(len(rows), ratio)
    rows += [context_free_row(start_token_id, sample) for sample in pick_samples(samples, count, seed)]
    return Dataset.from_list(rows).shuffle(seed=seed).flatten_indices()
