"""``FlowTrainer``: trl's SFTTrainer with FLOW's per-sample (or per-token) loss weights."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from datasets import Dataset

from hfplug.errors import DatasetError
from hfplug.trainers.token_weighted_sft import TokenWeightedSFTTrainer, check_sft_dataset
from hfplug_flow import TOKEN_WEIGHTS_COLUMN, WEIGHT_COLUMN
from hfplug_flow.collator import BATCH_KEY, FlowWeightCollator
from hfplug_flow.config import FlowConfig

HOW_TO_GET_WEIGHTS = (
    "run the flow_weights data transform first (config: data: [{name: flow_weights}]) or "
    "hfplug_flow.weighting.compute_flow_weights(model, tokenizer, dataset)"
)


class FlowTrainer(TokenWeightedSFTTrainer):
    """SFT with ``loss = sum_i w_i * sum_t l_it / N_tokens`` (no normalisation by the weights), the
    weights read from the dataset (see :class:`~hfplug_flow.config.FlowConfig`).

    ``N_tokens`` is ``num_items_in_batch``, the valid tokens of the whole optimizer step, so gradient
    accumulation matches a large batch; with every weight 1 the loss is SFTTrainer's exactly.
    Evaluation reports the plain cross-entropy. Logs ``flow/weight_mean`` over the valid tokens.
    """

    _tag_names = ["trl", "sft", "hfplug", "hfplug-flow", "flow"]
    config_class = FlowConfig
    method_name = "FLOW"

    def __init__(self, model: Any, args: FlowConfig | None = None, *posargs: Any, **kwargs: Any) -> None:
        super().__init__(model, args, *posargs, **kwargs)
        self.data_collator = FlowWeightCollator(
            self.data_collator,
            mode=self.args.flow_mode,
            truncation_mode=self.args.truncation_mode,
            padding_free=self.args.padding_free,
        )

    def check_train_dataset(self, dataset: Any, args: FlowConfig, kwargs: dict[str, Any]) -> None:
        check_flow_dataset(dataset, args)

    def _set_signature_columns_if_needed(self) -> None:
        # Trainer drops every column the model's forward does not take; keep the weights for the collator.
        super()._set_signature_columns_if_needed()
        extra = [WEIGHT_COLUMN] + ([TOKEN_WEIGHTS_COLUMN] if self.args.flow_mode == "token" else [])
        self._signature_columns = [*self._signature_columns, *(c for c in extra if c not in self._signature_columns)]

    def pop_weight_inputs(self, inputs: dict[str, Any]) -> torch.Tensor | None:
        return inputs.pop(BATCH_KEY, None)

    def token_loss_weights(self, nll: torch.Tensor, mask: torch.Tensor, weight_inputs: Any) -> torch.Tensor:
        if weight_inputs is None:
            raise DatasetError(f"FlowTrainer got a training batch without FLOW weights; {HOW_TO_GET_WEIGHTS}.")
        # Position t of the log-probs predicts token t + 1, whose weight sits at t + 1 in the batch tensor.
        return weight_inputs[:, 1:]

    def record_weight_metrics(self, weights: torch.Tensor, mask: torch.Tensor) -> None:
        self.weight_statistics.add_mean("flow/weight_mean", weights[mask])


def check_flow_dataset(dataset: Any, args: FlowConfig) -> None:
    """Fail before tokenization on an empty dataset, missing text or weight columns, or unusable weights."""
    check_sft_dataset(dataset, args, "FLOW training")
    if not isinstance(dataset, Dataset):
        return  # an IterableDataset cannot be checked without consuming it
    needed = [WEIGHT_COLUMN] + ([TOKEN_WEIGHTS_COLUMN, "input_ids"] if args.flow_mode == "token" else [])
    missing = [c for c in needed if c not in dataset.column_names]
    if missing:
        raise DatasetError(
            f"FLOW training (flow_mode={args.flow_mode!r}) needs the column(s) {', '.join(missing)}; "
            f"{HOW_TO_GET_WEIGHTS}" + (" with mode: token" if args.flow_mode == "token" else "") + "."
        )
    weights = np.asarray(dataset[WEIGHT_COLUMN], dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(weights) | (weights < 0))
    if bad.size:
        raise DatasetError(
            f"FLOW training: column {WEIGHT_COLUMN!r} has {bad.size} NaN, infinite or negative weight(s) "
            f"(rows {', '.join(str(i) for i in bad[:10])}); recompute the weights with nan_policy='zero' or drop them."
        )
