"""Carry FLOW's weight columns through trl's collator as one per-token tensor aligned with ``labels``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from hfplug_flow import TOKEN_WEIGHTS_COLUMN, WEIGHT_COLUMN

# The batch key the trainer pops before calling the model.
BATCH_KEY = "flow_token_weight"


@dataclass
class FlowWeightCollator:
    """Wrap a collator: strip the weight columns from each example, collate the rest as before, then add
    ``flow_token_weight`` with the same shape as ``labels`` (0 on padding).

    ``mode='sequence'`` repeats the sample's ``flow_weight`` on each of its tokens; ``mode='token'``
    uses ``flow_token_weights``, cut the way trl truncated the ids (``truncation_mode``). Examples
    without weight columns (an evaluation set) are collated unchanged.
    """

    base: Any
    mode: str = "sequence"
    truncation_mode: str = "keep_start"
    padding_free: bool = False

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        if not examples or WEIGHT_COLUMN not in examples[0]:
            return self.base([_without_weights(e) for e in examples])
        per_token = [self._token_weights(example) for example in examples]
        batch = self.base([_without_weights(e) for e in examples])
        width = batch["labels"].shape[-1]
        if self.padding_free:
            flat = torch.cat(per_token)
            weights = torch.zeros(1, width, dtype=torch.float32)
            weights[0, : flat.numel()] = flat
        else:
            weights = torch.zeros(len(per_token), width, dtype=torch.float32)
            for row, values in enumerate(per_token):
                weights[row, : values.numel()] = values
        batch[BATCH_KEY] = weights
        return batch

    def _token_weights(self, example: dict[str, Any]) -> torch.Tensor:
        length = len(example["input_ids"])
        if self.mode == "sequence":
            return torch.full((length,), float(example[WEIGHT_COLUMN]), dtype=torch.float32)
        values = example[TOKEN_WEIGHTS_COLUMN]
        values = values[:length] if self.truncation_mode == "keep_start" else values[len(values) - length :]
        return torch.tensor(values, dtype=torch.float32)


def _without_weights(example: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in example.items() if k not in (WEIGHT_COLUMN, TOKEN_WEIGHTS_COLUMN)}
