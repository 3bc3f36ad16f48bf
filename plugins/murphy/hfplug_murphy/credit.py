"""Retrospective credit (MaRS / MeRS) and GRPO advantages within sibling groups.

Credit is computed bottom-up on the whole tree, before any pruning, so that what pruning drops
never changes what the kept nodes learn from.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from hfplug_murphy.tree import RolloutTree

ADVANTAGE_EPS = 1e-4
"""Added to the group's standard deviation, as trl's GRPOTrainer does."""


def propagate_credit(tree: RolloutTree, rule: str) -> None:
    """Set ``node.credit`` (R~) for every node of ``tree``.

    * ``none``: R~(n) = r(n).
    * ``max`` (MaRS): R~(n) = max(r(n), max_c R~(c)) over its refinements c.
    * ``mean`` (MeRS): R~(n) = max(r(n), mean_c R~(c)).

    Ungraded nodes (reward None) get credit None and are left out of their parent's max or mean;
    a node whose refinements are all ungraded keeps its own reward.
    """
    if rule not in ("max", "mean", "none"):
        raise ValueError(f"unknown credit rule {rule!r}; expected 'max', 'mean' or 'none'.")
    for node in tree.bottom_up():
        if node.reward is None:
            node.credit = None
            continue
        below = [child.credit for child in tree.children(node) if child.credit is not None]
        if rule == "none" or not below:
            node.credit = node.reward
        elif rule == "max":
            node.credit = max(node.reward, max(below))
        else:
            node.credit = max(node.reward, sum(below) / len(below))


def assign_advantages(
    trees: Sequence[RolloutTree], scale_rewards: str, batch_credits: Sequence[float | None] | None = None
) -> None:
    """GRPO advantages from R~, each node normalised against its own sibling group.

    ``scale_rewards`` follows trl: ``group`` divides by the group's standard deviation (+1e-4),
    ``batch`` by the standard deviation of every graded node of the batch, ``none`` not at all.
    Ungraded nodes get advantage 0 and are not part of any mean or deviation.
    ``batch_credits``: the credits of every node of the batch, when ``trees`` are one process's share of
    it (trl's batch deviation is over the gathered batch); by default those of ``trees``.
    """
    if scale_rewards not in ("group", "batch", "none"):
        raise ValueError(f"unknown scale_rewards {scale_rewards!r}; expected 'group', 'batch' or 'none'.")
    batch_std = None
    if scale_rewards == "batch":
        if batch_credits is None:
            batch_credits = [node.credit for tree in trees for node in tree.nodes]
        batch_std = credit_std(batch_credits)
    for tree in trees:
        for group in tree.groups:
            members = tree.members(group)
            credits = _credits([node.credit for node in members])
            advantages = credits - torch.nanmean(credits)
            if scale_rewards == "group":
                std = credit_std(credits)
                advantages = advantages / (std + ADVANTAGE_EPS)
            elif scale_rewards == "batch":
                advantages = advantages / (batch_std + ADVANTAGE_EPS)
            advantages = torch.nan_to_num(advantages, nan=0.0)
            for node, advantage in zip(members, advantages.tolist(), strict=True):
                node.advantage = advantage if node.credit is not None else 0.0


def credit_std(values: Sequence[float | None] | torch.Tensor) -> torch.Tensor:
    """trl's (Bessel-corrected) standard deviation of the graded values; 0 for fewer than two values."""
    from trl.trainer.utils import nanstd

    values = values if isinstance(values, torch.Tensor) else _credits(values)
    return nanstd(values) if values.numel() > 1 else torch.zeros(())


def _credits(values: Sequence[float | None]) -> torch.Tensor:
    return torch.tensor([float("nan") if v is None else v for v in values], dtype=torch.float32)
