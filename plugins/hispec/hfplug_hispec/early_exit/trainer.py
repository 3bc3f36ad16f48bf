"""SFT with LayerSkip's early-exit loss and layer dropout (arXiv:2404.16710)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from trl import SFTTrainer

from .config import EarlyExitConfig
from .objective import EarlyExitObjective


class EarlyExitTrainer(SFTTrainer):
    """An ``SFTTrainer`` whose loss also trains chosen layers to exit early through the shared head."""

    _tag_names = ["trl", "sft", "hfplug", "hfplug-hispec", "early-exit"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        config = kwargs.get("args", args[1] if len(args) > 1 else None)
        if not isinstance(config, EarlyExitConfig):
            raise TypeError(f"EarlyExitTrainer needs args=EarlyExitConfig(...), got {type(config).__name__}.")
        super().__init__(*args, **kwargs)
        self.objective = EarlyExitObjective.for_model(
            self.model,
            config.early_exit_layers,
            config.early_exit_layer_weights,
            loss_scale=config.early_exit_loss_scale,
            distillation=config.early_exit_distillation,
            layer_dropout_max=config.layer_dropout_max,
            layer_dropout_schedule=config.layer_dropout_schedule,
        )

    def compute_loss(
        self, model: nn.Module, inputs: dict[str, Any], return_outputs: bool = False, num_items_in_batch: Any = None
    ) -> Any:
        """Final-layer SFT loss plus the weighted early-exit losses."""
        unwrapped = self.accelerator.unwrap_model(model)
        with self.objective.capture(unwrapped) as states:
            result = super().compute_loss(
                model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch
            )
        loss, outputs = result if return_outputs else (result, None)
        labels = inputs["labels"][:, 1:]
        early_exit_loss = self.objective.exit_loss(unwrapped, states, labels)
        mode = "train" if model.training else "eval"
        if num_items_in_batch is not None:
            # Normalised like trl's final-layer loss: summed over this micro-batch's scored tokens and divided by
            # the step's tokens on every process (times the processes, since DDP averages the gradients). A
            # per-micro-batch mean would count it once per accumulation step and weigh short rows up.
            early_exit_sum = early_exit_loss * (labels != -100).sum()
            early_exit_loss = early_exit_sum / torch.as_tensor(num_items_in_batch).clamp(min=1)
            if self.args.average_tokens_across_devices:
                early_exit_loss = early_exit_loss * self.accelerator.num_processes
        steps = self.current_gradient_accumulation_steps if mode == "train" and num_items_in_batch is not None else 1
        # Gathered: the log shows the whole batch's exit loss, not the main process's share. Normalised by the
        # step's tokens, each micro-batch holds a share of the step's value; the log averages them, hence `steps`.
        gathered = self.accelerator.gather(early_exit_loss.detach().reshape(1)).mean()
        self._metrics[mode]["early_exit_loss"].append(float(gathered) * steps)
        loss = loss + self.objective.loss_scale * early_exit_loss
        return (loss, outputs) if return_outputs else loss
