"""Compute accounting: what a rollout cost, so Murphy and GRPO can be compared at equal compute.

Per generation batch: generated tokens, programs executed, tree nodes, nodes trained on,
refinement groups and rollout wall time; plus running totals since training started. The
trainer logs them through trl's metrics every logging step (progress bar, TensorBoard, W&B).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from hfplug_murphy.tree import RolloutTree

PREFIX = "murphy/"
TOTALS = ("generated_tokens", "executions", "tree_nodes", "rollout_seconds")


def rollout_cost(trees: Sequence[RolloutTree], executions: int, seconds: float) -> dict[str, float]:
    """The cost of one rollout (one generation batch on this process)."""
    return {
        "generated_tokens": sum(tree.generated_tokens() for tree in trees),
        "executions": executions,
        "tree_nodes": sum(len(tree.nodes) for tree in trees),
        "trained_nodes": sum(node.trainable for tree in trees for node in tree.nodes),
        "refinement_groups": sum(group.parent is not None for tree in trees for group in tree.groups),
        "rollout_seconds": seconds,
    }


@dataclass
class ComputeAccount:
    """Running totals over a training run (one per trainer and mode)."""

    totals: dict[str, float] = field(default_factory=lambda: dict.fromkeys(TOTALS, 0.0))
    started: float = field(default_factory=time.monotonic)

    def add(self, cost: dict[str, float]) -> dict[str, float]:
        """Add one rollout's cost; return the metrics to log (this batch, and the running totals)."""
        for key in TOTALS:
            self.totals[key] += cost[key]
        return {
            **{f"{PREFIX}{key}": value for key, value in cost.items()},
            **{f"{PREFIX}total_{key}": value for key, value in self.totals.items()},
            f"{PREFIX}wall_seconds": time.monotonic() - self.started,
        }
