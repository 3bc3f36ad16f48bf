"""Registration of the ``context_free`` data transform (lazy references only: no torch import here)."""

from __future__ import annotations

import hfplug


@hfplug.hookimpl
def hfplug_register(registry) -> None:
    registry.data(
        "context_free",
        "hfplug_context_free.transform:context_free",
        config="hfplug_context_free.config:ContextFreeConfig",
        summary="Mix samples drawn from the frozen base model after BOS only into the task data (KL to the base).",
        paper="arXiv:2505.13811",
        columns=[["messages"], ["prompt", "completion"], ["text"]],
    )
