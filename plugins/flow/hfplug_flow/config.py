"""``FlowConfig``: trl's ``SFTConfig`` plus where the FLOW weights are and how they apply."""

from __future__ import annotations

from dataclasses import dataclass, field

from trl import SFTConfig

from hfplug.errors import ConfigError
from hfplug.trainers.machine_defaults import MachineDefaults

FLOW_MODES = ("sequence", "token")


@dataclass
class FlowConfig(MachineDefaults, SFTConfig):
    """Configuration for :class:`~hfplug_flow.trainer.FlowTrainer`.

    The weights are computed before training (``flow_weights`` data transform or
    :func:`hfplug_flow.weighting.compute_flow_weights`) and read from dataset columns, so they are
    the same in every epoch and after resuming from a checkpoint.
    """

    flow_mode: str = field(
        default="sequence",
        metadata={
            "help": "'sequence' [code]: every token of a sample gets the sample's weight (column flow_weight). "
            "'token' [code]: each token gets its own weight (column flow_token_weights; run flow_weights with "
            "mode: token)."
        },
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.flow_mode not in FLOW_MODES:
            raise ConfigError(f"FlowConfig.flow_mode must be one of {FLOW_MODES}, got {self.flow_mode!r}.")
        if self.packing:
            raise ConfigError(
                "FlowConfig.packing must be False: packing merges samples and drops the per-sample weight columns."
            )
        if self.loss_type != "nll" or self.label_smoothing_factor > 0:
            raise ConfigError(
                "FlowConfig: loss_type must be 'nll' and label_smoothing_factor 0; "
                "FLOW weights the plain cross-entropy."
            )
