"""Verifiable rewards that ship with hfplug, so an RL quickstart needs no plugin."""

from __future__ import annotations

import hfplug


@hfplug.hookimpl
def hfplug_register(registry) -> None:
    registry.reward(
        "gsm8k_answer",
        "hfplug.rewards:gsm8k_answer",
        summary="1 when the completion's final number ('#### N' or the last number) equals the answer column.",
    )
