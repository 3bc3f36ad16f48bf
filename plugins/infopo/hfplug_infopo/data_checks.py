"""Checks on a preference dataset that run before trl tokenizes it, so bad rows fail with a clear error."""

from __future__ import annotations

from typing import Any

from datasets import Dataset

from hfplug.data import check_columns
from hfplug.errors import DatasetError

PREFERENCE_COLUMNS = [["prompt", "chosen", "rejected"], ["chosen", "rejected"]]
# How many offending row indices an error message lists.
SHOWN_ROWS = 5


def check_preference_dataset(dataset: Any, what: str) -> None:
    """Fail on a dataset InfoPO cannot train on: no chosen/rejected columns, empty, a row whose chosen or
    rejected response is missing or empty, or a row whose chosen and rejected responses are identical
    (its two log-ratios are the same number, so the pair carries no preference).

    An ``IterableDataset`` is only checked for its columns (reading its rows would consume it).
    """
    if dataset is None:
        raise DatasetError(f"{what} needs a train_dataset with 'chosen' and 'rejected' columns.")
    if not isinstance(dataset, Dataset):
        columns = getattr(dataset, "column_names", None)
        if columns is not None and not {"chosen", "rejected"} <= set(columns):
            raise DatasetError(f"{what} needs the columns 'chosen' and 'rejected'; the dataset has: {columns}.")
        return
    check_columns(dataset, PREFERENCE_COLUMNS, what=what)
    chosen, rejected = dataset["chosen"], dataset["rejected"]
    for name, column in (("chosen", chosen), ("rejected", rejected)):
        missing = [i for i, value in enumerate(column) if _is_empty(value)]
        if missing:
            raise DatasetError(
                f"{what}: {len(missing)} row(s) have no {name!r} response (None or empty), e.g. rows "
                f"{missing[:SHOWN_ROWS]}. Drop or fix them before training."
            )
    identical = [i for i, (c, r) in enumerate(zip(chosen, rejected, strict=True)) if c == r]
    if identical:
        raise DatasetError(
            f"{what}: {len(identical)} row(s) have identical chosen and rejected responses, e.g. rows "
            f"{identical[:SHOWN_ROWS]}; such a pair states no preference. Drop them, e.g. "
            "dataset.filter(lambda row: row['chosen'] != row['rejected'])."
        )


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list):  # conversational: a list of messages
        return len(value) == 0 or all(not str(m.get("content") or "").strip() for m in value if isinstance(m, dict))
    return False
