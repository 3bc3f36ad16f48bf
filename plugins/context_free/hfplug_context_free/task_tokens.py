"""Tokenize task rows into ``input_ids``/``labels`` the way trl's SFTTrainer does by default.

The mixed dataset is pre-tokenized because context-free rows must be trained on exactly the sampled
ids after the start token (decoding and re-tokenizing would change them). Task rows are tokenized here
with trl's default rules so that they train exactly as they would without the mix:

- ``messages``: the chat template applied to the whole conversation; every token is a label.
- ``prompt``/``completion``: labels only on the completion (trl's ``completion_only_loss`` default);
  conversational prompts get the chat template with a generation prompt, plain text gets EOS appended.
- ``text``: EOS appended; every token is a label.
"""

from __future__ import annotations

from typing import Any

from hfplug.sft_tokens import IGNORE_INDEX, tokenize_sft_row

__all__ = ["IGNORE_INDEX", "TASK_COLUMNS", "tokenize_task_row"]

TASK_COLUMNS: list[list[str]] = [["messages"], ["prompt", "completion"], ["text"]]


def tokenize_task_row(row: dict[str, Any], tokenizer: Any, columns: list[str]) -> dict[str, list[int]]:
    """``input_ids`` and ``labels`` (-100 on tokens outside the loss) for one task row, read as ``columns``."""
    input_ids, labels = tokenize_sft_row({column: row[column] for column in columns}, tokenizer, what="context_free")
    return {"input_ids": input_ids, "labels": labels}
