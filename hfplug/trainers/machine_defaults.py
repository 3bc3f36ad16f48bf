"""Defaults that make a trl config class work on any machine and without deprecation noise."""

from __future__ import annotations

from dataclasses import dataclass, field

from hfplug.precision import bf16_available, pinned_memory_useful


@dataclass
class MachineDefaults:
    """Mix into a trl config dataclass before the trl class: ``class MyConfig(MachineDefaults, SFTConfig)``.

    - ``bf16`` left unset means bf16 only where the machine supports it (trl's default turns it on,
      which fails on a CPU: ``MyConfig(output_dir="out")`` must work in a notebook on a laptop).
    - ``dataloader_pin_memory`` left unset means pinned memory only where there is an accelerator to copy
      to (elsewhere torch's DataLoader warns on every run that it cannot pin).
    - Activation checkpointing stays on by default as in trl, but under its transformers v5 name:
      trl's ``gradient_checkpointing=True`` default makes every config warn that the name is deprecated.
    """

    activation_checkpointing: bool | None = field(
        default=True,
        metadata={"help": "Recompute activations in the backward pass: less memory, about 20% more compute."},
    )
    gradient_checkpointing: bool | None = field(
        default=None, metadata={"help": "Deprecated alias of activation_checkpointing (transformers v5)."}
    )
    dataloader_pin_memory: bool | None = field(
        default=None, metadata={"help": "Pin batches in host memory; unset: only where there is an accelerator."}
    )

    def __post_init__(self) -> None:
        if getattr(self, "bf16", None) is None and not getattr(self, "fp16", False) and not bf16_available():
            self.bf16 = False
        if self.dataloader_pin_memory is None:
            self.dataloader_pin_memory = pinned_memory_useful()
        super().__post_init__()  # type: ignore[misc]
