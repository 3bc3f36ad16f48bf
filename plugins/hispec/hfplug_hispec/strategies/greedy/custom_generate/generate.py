"""Plain autoregressive decoding through the same layer-range machinery as HiSpec.

The control for comparisons by name: same code path, no speculation, so the difference to
``hispec`` and ``self_spec`` is the speculation alone. Honours ``do_sample`` like the others.
"""

from __future__ import annotations

from typing import Any

# transformers before 5.10 copies into its modules cache only the modules that generate.py itself
# imports, not theirs in turn: so every module of this folder is imported here by name.
from .acceptance import GreedyChooser  # noqa: F401
from .decoder_layers import DecoderLayers  # noqa: F401
from .exit_head import ExitHead  # noqa: F401
from .generation_call import run_early_exit_generation
from .layer_stack import LayerStack  # noqa: F401
from .speculation import HierarchicalDecoder  # noqa: F401
from .static_decoding import StaticSpeculation  # noqa: F401


def generate(model: Any, **arguments: Any) -> Any:
    """Decode one token per full-model pass (batches of left-padded prompts too)."""
    return run_early_exit_generation(model, [model.config.num_hidden_layers], [0], arguments, "greedy")
