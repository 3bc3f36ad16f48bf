"""Where this package keeps its ``custom_generate`` strategy folders.

Loading them by path needs only transformers, so the layer-choice helper and the benchmark also
run where hfplug's registry (and its dependencies) is not installed, such as a bare GPU host.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

STRATEGIES = ("hispec", "self_spec", "greedy")


def strategy_folder(name: str) -> Path:
    """The folder ``model.generate(custom_generate=...)`` takes for strategy ``name``."""
    if name not in STRATEGIES:
        raise ValueError(f"Unknown early-exit strategy {name!r}; choose one of {', '.join(STRATEGIES)}.")
    return Path(__file__).parent / "strategies" / name


def load_strategy(model: Any, name: str) -> Any:
    """The strategy's ``generate`` function, bound to nothing: call it as ``generate(model=model, ...)``."""
    from transformers import GenerationMixin

    return GenerationMixin.load_custom_generate(model, str(strategy_folder(name)), trust_remote_code=True)
