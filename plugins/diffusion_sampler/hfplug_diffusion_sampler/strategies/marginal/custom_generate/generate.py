"""Marginal parallel sampling for masked diffusion LMs: K tokens per full pass, each drawn independently
from its own marginal (what Dream and LLaDA do with fewer steps than tokens); the fast baseline of
arXiv:2509.22738.
"""

from __future__ import annotations

from typing import Any

from .generation_call import run_diffusion_generation


def generate(model: Any, tokens_per_step: int = 4, **arguments: Any) -> Any:
    """Fill ``max_new_tokens`` masked positions, K independent draws per full pass (see ``joint_sampler``)."""
    return run_diffusion_generation(model, arguments, mode="marginal", tokens_per_step=tokens_per_step)
