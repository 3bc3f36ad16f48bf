"""The trainer's config: the parent's config dataclass plus our own field."""

from dataclasses import dataclass, field

from trl import SFTConfig

from hfplug.errors import ConfigError
from hfplug.trainers.machine_defaults import MachineDefaults


@dataclass
class TopLossSFTConfig(MachineDefaults, SFTConfig):
    """``SFTConfig`` plus ``keep_ratio``; every SFT/TrainingArguments field still works.

    ``MachineDefaults`` (from hfplug) makes ``TopLossSFTConfig(output_dir="out")`` work on a CPU too.
    """

    keep_ratio: float = field(
        default=0.6,
        metadata={"help": "Fraction of each batch's response tokens to train on, hardest (highest loss) first."},
    )

    def __post_init__(self):
        super().__post_init__()
        if not 0.0 < self.keep_ratio <= 1.0:
            # A ConfigError is printed as one clean line by `hfplug train`, naming the field.
            raise ConfigError(f"keep_ratio: must be in (0, 1], got {self.keep_ratio}.")
