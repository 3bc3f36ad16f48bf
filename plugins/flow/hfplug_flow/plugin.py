"""hfplug entry point: the ``flow_weights`` data transform and the ``flow`` trainer (lazy references)."""

from __future__ import annotations

import hfplug


@hfplug.hookimpl
def hfplug_register(registry) -> None:
    registry.data(
        "flow_weights",
        "hfplug_flow.data:flow_weights",
        config="hfplug_flow.data:FlowWeightsConfig",
        summary="FLOW sample weights w = exp(-l/tau) from the frozen base model's losses (cached on disk).",
        paper="arXiv:2502.02797",
    )
    registry.trainer(
        "flow",
        "hfplug_flow.trainer:FlowTrainer",
        config="hfplug_flow.config:FlowConfig",
        summary="SFT weighted by the flow_weights column (run the flow_weights data transform first).",
        paper="arXiv:2502.02797",
        columns=[["messages"], ["prompt", "completion"], ["text"], ["input_ids"]],
    )
