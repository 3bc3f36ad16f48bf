"""hfplug entry point: registers the ``murphy`` trainer (lazy references, no torch import)."""

from __future__ import annotations

import hfplug


@hfplug.hookimpl
def hfplug_register(registry) -> None:
    registry.trainer(
        "murphy",
        "hfplug_murphy.trainer:MurphyTrainer",
        config="hfplug_murphy.config:MurphyConfig",
        summary="Multi-turn GRPO for code: failed programs are re-prompted with execution feedback, credit flows back "
        "through the rollout tree (MaRS/MeRS), with pruning.",
        paper="arXiv:2511.07833",
        columns=[["prompt"]],
        needs_rewards=True,
    )
