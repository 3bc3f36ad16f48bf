"""Murphy (arXiv:2511.07833) for hfplug: multi-turn GRPO with a feedback-conditioned rollout tree.

from hfplug_murphy import MurphyConfig, MurphyTrainer
trainer = MurphyTrainer(model, reward_funcs="unit_tests", args=MurphyConfig(max_turns=2, ...), train_dataset=tasks)

Heavy modules (torch, trl) load on first attribute access, so ``import hfplug_murphy`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "MurphyConfig": "hfplug_murphy.config",
    "MurphyTrainer": "hfplug_murphy.trainer",
    "DEFAULT_REFINEMENT_TEMPLATE": "hfplug_murphy.config",
    "propagate_credit": "hfplug_murphy.credit",
    "assign_advantages": "hfplug_murphy.credit",
    "RolloutTree": "hfplug_murphy.tree",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'hfplug_murphy' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
