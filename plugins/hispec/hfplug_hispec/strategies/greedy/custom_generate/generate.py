"""Plain autoregressive decoding through the same layer-range machinery as HiSpec.

The control for comparisons by name: same code path, no speculation, so the difference to
``hispec`` and ``self_spec`` is the speculation alone. Honours ``do_sample`` like the others.
"""

from __future__ import annotations

from typing import Any

from .generation_call import run_early_exit_generation


def generate(model: Any, **arguments: Any) -> Any:
    """Decode one token per full-model pass (batches of left-padded prompts too)."""
    return run_early_exit_generation(model, [model.config.num_hidden_layers], [0], arguments, "greedy")
