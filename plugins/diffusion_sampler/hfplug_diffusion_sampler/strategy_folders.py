"""Where this package keeps its ``custom_generate`` folders, and how to call one on any model.

transformers 5 models without ``GenerationMixin`` (Dream's and LLaDA's remote code, ``*ForMaskedLM``)
have no ``generate``; the folder's function works on them all the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

STRATEGIES = ("joint_sampler", "exact", "marginal")


def strategy_folder(name: str) -> Path:
    """The folder ``model.generate(custom_generate=...)`` takes for strategy ``name``."""
    if name not in STRATEGIES:
        raise ValueError(f"Unknown masked-diffusion strategy {name!r}; choose one of {', '.join(STRATEGIES)}.")
    return Path(__file__).parent / "strategies" / name


def load_strategy(model: Any, name: str) -> Any:
    """The strategy's ``generate`` function: call it as ``generate(model=model, input_ids=..., ...)``."""
    from transformers import GenerationMixin

    return GenerationMixin.load_custom_generate(model, str(strategy_folder(name)), trust_remote_code=True)


def diffusion_generate(model: Any, strategy: str = "joint_sampler", **arguments: Any) -> Any:
    """Run a strategy on ``model`` whether or not it has transformers' ``generate``."""
    return load_strategy(model, strategy)(model=model, **arguments)
