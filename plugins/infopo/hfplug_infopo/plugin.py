"""hfplug entry point: registers the ``infopo`` trainer (lazy references, no torch import)."""

from __future__ import annotations

import hfplug


@hfplug.hookimpl
def hfplug_register(registry) -> None:
    registry.trainer(
        "infopo",
        "hfplug_infopo.trainer:InfoPOTrainer",
        config="hfplug_infopo.config:InfoPOConfig",
        summary="Preference optimization from the NWJ mutual-information bound: -beta*r_w + exp(beta*r_l - 1), "
        "no Bradley-Terry model, chosen term never saturates.",
        paper="arXiv:2505.08507",
        columns=[["prompt", "chosen", "rejected"], ["chosen", "rejected"]],
    )
