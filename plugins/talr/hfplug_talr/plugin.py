"""hfplug entry point: registers the ``talr`` trainer (lazy references, no torch import)."""

from __future__ import annotations

import hfplug


@hfplug.hookimpl
def hfplug_register(registry) -> None:
    registry.trainer(
        "talr",
        "hfplug_talr.trainer:TALRTrainer",
        config="hfplug_talr.config:TALRConfig",
        summary="SFT with token-adaptive loss reweighting: hard tokens get weight p^(1/tau), tau = batch median loss.",
        paper="arXiv:2509.20758",
        columns=[["messages"], ["prompt", "completion"], ["text"], ["input_ids"]],
    )
