"""Trainer configs for fast, exact unit tests on the CPU."""

from __future__ import annotations

from pathlib import Path
from typing import Any

# trl turns on bf16 autocast (even on CPU) and activation checkpointing by default: exact
# comparisons need fp32, and checkpointing only slows tiny models down.
FAST_CPU_DEFAULTS: dict[str, Any] = {
    "max_steps": 1,
    "per_device_train_batch_size": 4,
    "report_to": "none",
    "use_cpu": True,
    "save_strategy": "no",
    "logging_steps": 1,
    "seed": 0,
    "dataloader_num_workers": 0,
    "bf16": False,
    "activation_checkpointing": False,
}


def fast_cpu_config(config_class: type, output_dir: str | Path, **overrides: Any) -> Any:
    """``config_class`` (any TrainingArguments subclass) with :data:`FAST_CPU_DEFAULTS`, writing
    under ``output_dir``; ``overrides`` win. Fields the class lacks are left out."""
    import dataclasses

    known = {f.name for f in dataclasses.fields(config_class)}
    fields = {k: v for k, v in FAST_CPU_DEFAULTS.items() if k in known}
    fields.update(output_dir=str(output_dir), **overrides)
    return config_class(**fields)
