"""HiSpec (arXiv:2510.01336) as a transformers ``custom_generate`` strategy.

One early-exit model drafts at exit ``draft_layer``, verifies at ``verify_layer`` and validates
with the full model once ``verify_window`` tokens are tentatively accepted; one KV cache serves
all three, and hidden states computed by a shallow stage are reused by the deeper ones.
Greedy output is token-identical to plain greedy decoding; sampling is distributed exactly as
the full model. Batches of left-padded prompts advance in lockstep.

    model.generate(input_ids, custom_generate="path/or/hub-repo", trust_remote_code=True,
                   draft_layer=4, verify_layer=8, draft_length=2, verify_window=4)
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


def generate(
    model: Any,
    draft_layer: int | None = None,
    verify_layer: int | None = None,
    draft_length: int = 2,
    verify_window: int = 4,
    **arguments: Any,
) -> Any:
    """Generate with HiSpec; defaults follow the paper: l_d = L/8, l_i = L/4, N_d = 2, N_i = 4.

    Returns a LongTensor of sequences, or (``return_dict_in_generate=True``) an output whose
    ``speculation_stats`` holds acceptance per level, passes per depth range and tokens per full pass.
    """
    num_layers = model.config.num_hidden_layers
    draft_layer = max(1, num_layers // 8) if draft_layer is None else draft_layer
    verify_layer = max(draft_layer + 1, num_layers // 4) if verify_layer is None else verify_layer
    validate_exits([draft_layer, verify_layer], num_layers, ["draft_layer", "verify_layer"])
    for name, value in (("draft_length", draft_length), ("verify_window", verify_window)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}.")
    exits = [draft_layer, verify_layer, num_layers]
    return run_early_exit_generation(model, exits, [0, draft_length, verify_window], arguments, "hispec")
