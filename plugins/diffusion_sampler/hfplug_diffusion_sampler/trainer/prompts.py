"""Training prompts for teacher rollouts: a dataset's `prompt` or `text` column as token ids, and a
collator that pads them on the left (the generated region must start at the same column in every row)."""

from __future__ import annotations

from typing import Any

import torch

from hfplug.errors import DatasetError


def prompt_dataset(dataset: Any, tokenizer: Any, prompt_length: int, what: str = "training") -> Any:
    """``dataset`` reduced to one ``input_ids`` column: the last ``prompt_length`` tokens of `prompt`, or the
    first ``prompt_length`` tokens of `text`; rows with no tokens are dropped."""
    if dataset is None:
        return None
    columns = dataset.column_names
    column = "prompt" if "prompt" in columns else "text" if "text" in columns else None
    if column is None:
        raise DatasetError(f"The {what} dataset needs a `prompt` or `text` column; it has: {', '.join(columns)}.")
    if len(dataset) == 0:
        raise DatasetError(f"The {what} dataset is empty.")

    def tokenize(row: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(row[column], str):
            raise DatasetError(
                f"The {what} dataset's `{column}` column must hold strings, got {type(row[column]).__name__}."
            )
        ids = tokenizer(row[column], add_special_tokens=False)["input_ids"]
        return {"input_ids": ids[-prompt_length:] if column == "prompt" else ids[:prompt_length]}

    tokenized = dataset.map(tokenize, remove_columns=columns)
    tokenized = tokenized.filter(lambda row: len(row["input_ids"]) > 0)
    if len(tokenized) == 0:
        raise DatasetError(f"Every `{column}` of the {what} dataset is empty after tokenisation.")
    return tokenized


class LeftPaddingCollator:
    """Batches ``input_ids`` rows, padded on the left with ``pad_token_id``, with an attention mask."""

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = pad_token_id

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        length = max(len(row["input_ids"]) for row in rows)
        ids = torch.full((len(rows), length), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), length), dtype=torch.long)
        for index, row in enumerate(rows):
            tokens = torch.as_tensor(row["input_ids"], dtype=torch.long)
            ids[index, length - len(tokens) :] = tokens
            mask[index, length - len(tokens) :] = 1
        return {"input_ids": ids, "attention_mask": mask}
