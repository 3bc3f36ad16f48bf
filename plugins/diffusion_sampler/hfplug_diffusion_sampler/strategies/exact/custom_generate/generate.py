"""Exact sampling for masked diffusion LMs: every token from its own full pass of the model, the baseline
that the ``joint_sampler`` strategy approximates (arXiv:2509.22738).

With ``tokens_per_step=1`` (the default) this is plain one-token-per-pass sampling; with K > 1 each step
fixes K positions from its first pass and draws them one after another, each from a new full pass with
the earlier ones revealed: the exact sequential joint p* that the sampler is trained to match.
"""

from __future__ import annotations

from typing import Any

from .generation_call import run_diffusion_generation


def generate(model: Any, tokens_per_step: int = 1, **arguments: Any) -> Any:
    """Fill ``max_new_tokens`` masked positions, one full pass per token (other arguments: see ``joint_sampler``)."""
    return run_diffusion_generation(model, arguments, mode="exact", tokens_per_step=tokens_per_step)
