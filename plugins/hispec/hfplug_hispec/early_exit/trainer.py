"""SFT with LayerSkip's early-exit loss and layer dropout (arXiv:2404.16710)."""

from __future__ import annotations

from typing import Any

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
        early_exit_loss = self.objective.exit_loss(unwrapped, states, inputs["labels"][:, 1:])
        mode = "train" if model.training else "eval"
        self._metrics[mode]["early_exit_loss"].append(float(early_exit_loss.detach()))
        loss = loss + self.objective.loss_scale * early_exit_loss
        return (loss, outputs) if return_outputs else loss
