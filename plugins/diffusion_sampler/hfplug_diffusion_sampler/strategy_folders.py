"""Calling a strategy on any model, with or without transformers' ``generate``.

transformers 5 models without ``GenerationMixin`` (Dream's and LLaDA's remote code, ``*ForMaskedLM``)
have no ``generate``; the strategy folder's function works on them all the same.
"""

from __future__ import annotations

from typing import Any

STRATEGIES = ("joint_sampler", "exact", "marginal")


def load_strategy(model: Any, name: str) -> Any:
    """The strategy's ``generate`` function: call it as ``generate(model=model, input_ids=..., ...)``."""
    from transformers import GenerationMixin

    import hfplug

    if name not in STRATEGIES:
        raise ValueError(f"Unknown masked-diffusion strategy {name!r}; choose one of {', '.join(STRATEGIES)}.")
    return GenerationMixin.load_custom_generate(model, hfplug.load("generation", name), trust_remote_code=True)


def diffusion_generate(model: Any, strategy: str = "joint_sampler", **arguments: Any) -> Any:
    """Run a strategy on ``model`` whether or not it has transformers' ``generate``."""
    return load_strategy(model, strategy)(model=model, **arguments)
