"""Configuration of the early-exit trainer."""

from __future__ import annotations

from dataclasses import dataclass, field

from trl import SFTConfig


@dataclass
class EarlyExitConfig(SFTConfig):
    """``SFTConfig`` plus the LayerSkip early-exit loss and layer dropout.

    The loss is ``final_loss + early_exit_loss_scale * sum_l w_l * CE(Head(h_l))`` with the
    ``w_l`` normalised to sum to 1, where ``Head`` is the model's final norm + LM head and ``h_l``
    the hidden state after ``l`` layers.
    """

    early_exit_layers: list[int] | None = field(
        default=None,
        metadata={
            "help": "Layers (1..L-1, counted from the input) whose exits get the early-exit loss. "
            "Default: every layer below the last, as in LayerSkip. [paper]"
        },
    )
    early_exit_layer_weights: list[float] | None = field(
        default=None,
        metadata={
            "help": "Relative weight of each exit in early_exit_layers (normalised to sum to 1). "
            "Default: proportional to depth, so deeper exits weigh more. [ours]"
        },
    )
    early_exit_loss_scale: float = field(
        default=1.0,
        metadata={"help": "Weight of the early-exit term against the final layer's loss. [ours]"},
    )
    layer_dropout_max: float = field(
        default=0.0,
        metadata={
            "help": "LayerSkip layer dropout: layer l (0-based) of L is skipped during training with probability "
            "layer_dropout_max * l / (L - 1), rising linearly with depth; 0 turns it off. The paper uses 0.1-0.2 "
            "for continual pre-training. [paper]"
        },
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.early_exit_loss_scale < 0:
            raise ValueError(f"early_exit_loss_scale must be >= 0, got {self.early_exit_loss_scale}.")
        if not 0 <= self.layer_dropout_max < 1:
            raise ValueError(f"layer_dropout_max must be in [0, 1), got {self.layer_dropout_max}.")
        if self.early_exit_layer_weights is not None:
            if self.early_exit_layers is None or len(self.early_exit_layer_weights) != len(self.early_exit_layers):
                raise ValueError("early_exit_layer_weights needs early_exit_layers and one weight per exit layer.")
            if any(weight < 0 for weight in self.early_exit_layer_weights) or sum(self.early_exit_layer_weights) <= 0:
                raise ValueError("early_exit_layer_weights must be >= 0 with a positive sum.")
