"""What precision, and whether pinned memory, a trainer config defaults to on this machine.

trl turns ``bf16`` on unless told otherwise, which ``TrainingArguments`` rejects on a machine
without a bf16-capable accelerator. hfplug defaults to fp32 there instead of failing. Likewise
``dataloader_pin_memory`` defaults to True, which on a machine without an accelerator does nothing
but make torch's DataLoader warn on every run; there it defaults to False. Both for config files
(:mod:`hfplug.config`) and for config classes built in Python
(:class:`hfplug.trainers.machine_defaults.MachineDefaults`) alike.
"""

from __future__ import annotations


def bf16_available() -> bool:
    """Whether this machine has an accelerator that trains in bf16 (a CUDA GPU that supports it)."""
    import torch

    return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())


def pinned_memory_useful() -> bool:
    """Whether pinning host memory can help: torch sees an accelerator to copy batches to."""
    import torch

    return bool(torch.accelerator.is_available())
