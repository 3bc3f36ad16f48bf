"""Configuration of the early-exit trainer."""

from __future__ import annotations

from dataclasses import dataclass, field

from trl import SFTConfig

from hfplug.trainers.machine_defaults import MachineDefaults

from .objective import LAYER_DROPOUT_SCHEDULES, check_settings


@dataclass
class EarlyExitConfig(MachineDefaults, SFTConfig):
    """``SFTConfig`` plus the LayerSkip early-exit loss and layer dropout.

    The loss is ``final_loss + early_exit_loss_scale * sum_l w_l * exit_loss_l`` with the ``w_l``
    normalised to sum to 1 and ``exit_loss_l = (1 - d) * CE(labels, Head(h_l)) + d * CE(p_L, Head(h_l))``,
    where ``Head`` is the model's final norm + LM head, ``h_l`` the hidden state after ``l`` layers,
    ``p_L`` the full model's next-token distribution (no gradient) and ``d`` is
    ``early_exit_distillation``.
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
    early_exit_distillation: float = field(
        default=0.0,
        metadata={
            "help": "Share of each exit's loss that matches the full model's own next-token distribution "
            "(detached) instead of the data's labels. 0 is LayerSkip's labels-only loss; higher values train the "
            "exits as drafters of this model, which is what speculative decoding's acceptance rewards. [ours]"
        },
    )
    layer_dropout_max: float = field(
        default=0.0,
        metadata={
            "help": "LayerSkip layer dropout: the skip probability of the last layer, the others following "
            "layer_dropout_schedule; 0 turns it off. LayerSkip uses 0.1-0.2 for continual pre-training "
            "[LayerSkip paper]; off by default [ours]."
        },
    )
    layer_dropout_schedule: str = field(
        default="exponential",
        metadata={
            "help": "How the skip probability of layer l (0-based) of L rises with depth: 'exponential' is "
            "layer_dropout_max * (2^(l/(L-1)) - 1) [LayerSkip paper, D(l); LayerSkip code: torchtune ScaleType.EXP], "
            "'linear' is layer_dropout_max * l/(L-1).",
            "choices": list(LAYER_DROPOUT_SCHEDULES),
        },
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        check_settings(
            self.early_exit_layers,
            self.early_exit_layer_weights,
            self.early_exit_loss_scale,
            self.early_exit_distillation,
            self.layer_dropout_max,
            self.layer_dropout_schedule,
        )
