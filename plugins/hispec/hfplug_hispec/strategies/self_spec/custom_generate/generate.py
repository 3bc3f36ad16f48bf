"""Single-exit self-speculative decoding (LayerSkip, arXiv:2404.16710) as a ``custom_generate`` strategy.

Exit ``draft_layer`` drafts ``draft_length`` tokens, the full model verifies them in one pass;
the KV cache and the draft's hidden states are shared with the verification. The baseline that
HiSpec is compared with by name. Batches of left-padded prompts advance in lockstep.
"""

from __future__ import annotations

from typing import Any

# transformers before 5.10 copies into its modules cache only the modules that generate.py itself
# imports, not theirs in turn: so every module of this folder is imported here by name.
from .acceptance import GreedyChooser  # noqa: F401
from .decoder_layers import DecoderLayers  # noqa: F401
from .exit_head import ExitHead  # noqa: F401
from .generation_call import run_early_exit_generation, validate_exits
from .layer_stack import LayerStack  # noqa: F401
from .speculation import HierarchicalDecoder  # noqa: F401
from .static_decoding import StaticSpeculation  # noqa: F401


def generate(model: Any, draft_layer: int | None = None, draft_length: int = 4, **arguments: Any) -> Any:
    """Generate with one early exit as the drafter (default exit L/8, 4 drafts per round)."""
    num_layers = model.config.num_hidden_layers
    draft_layer = max(1, num_layers // 8) if draft_layer is None else draft_layer
    validate_exits([draft_layer], num_layers, ["draft_layer"])
    if not isinstance(draft_length, int) or draft_length < 1:
        raise ValueError(f"draft_length must be an integer >= 1, got {draft_length!r}.")
    return run_early_exit_generation(model, [draft_layer, num_layers], [0, draft_length], arguments, "self_spec")
