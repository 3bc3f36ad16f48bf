"""Checking a data-parallel run against one process on the same global batch.

Replicas agreeing is what DDP guarantees whatever the loss is; equality with a single process is what shows
the loss is normalised right across ranks. One plain SGD step without clipping keeps the loss's scale in the
parameters (Adam's first step divides it away, clipping caps it).
"""

from __future__ import annotations

from typing import Any

# Trainer fields for one exact, comparable step (any TrainingArguments subclass).
EXACT_SGD_STEP: dict[str, Any] = {
    "max_steps": 1,
    "optim": "sgd",
    "learning_rate": 0.1,
    "max_grad_norm": 0.0,
    "lr_scheduler_type": "constant",
    "use_cpu": True,
    "bf16": False,
    "activation_checkpointing": False,
    "report_to": "none",
    "save_strategy": "no",
    "logging_steps": 1,
    "seed": 0,
}


def assert_same_step(distributed: dict[str, Any], single: dict[str, Any], start: dict[str, Any]) -> None:
    """The state dicts after the distributed and the single-process step agree, and the step moved them."""
    import torch

    assert sum(float((single[name] - start[name]).abs().sum()) for name in start) > 0, "the step changed nothing"
    for name, value in single.items():
        torch.testing.assert_close(distributed[name], value, rtol=1e-4, atol=1e-7, msg=name)
