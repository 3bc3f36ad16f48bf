"""Post-rollout pruning (InterP, IntraP): which nodes enter the loss.

Pruning only clears ``kept`` flags: credit and advantages were computed on the whole tree before,
so a kept node learns exactly what it would have learned without pruning; pruning only removes
terms from the loss to cut the cost of the optimisation step.
"""

from __future__ import annotations

import statistics

from hfplug_murphy.tree import Node, RolloutTree, SiblingGroup


def prune(tree: RolloutTree, *, groups: int | None, per_group: int | None) -> None:
    """Apply InterP (keep the ``groups`` sibling groups with the largest credit variance) and then
    IntraP (keep ``per_group`` members of each kept group, alternately highest and lowest credit)."""
    if groups is not None:
        inter_prune(tree, groups)
    if per_group is not None:
        for group in tree.groups:
            if group.kept:
                intra_prune(tree, group, per_group)


def credit_variance(tree: RolloutTree, group: SiblingGroup) -> float:
    """Population variance of R~ over the group's graded members (0 with fewer than two)."""
    credits = [node.credit for node in tree.members(group) if node.credit is not None]
    return statistics.pvariance(credits) if len(credits) > 1 else 0.0


def inter_prune(tree: RolloutTree, budget: int) -> None:
    """Keep the ``budget`` groups with the largest variance (ties: earlier turn, then earlier group)."""
    ranked = sorted(tree.groups, key=lambda g: (-credit_variance(tree, g), g.depth, g.index))
    for rank, group in enumerate(ranked):
        group.kept = rank < budget
        if not group.kept:
            for node in tree.members(group):
                node.kept = False


def intra_prune(tree: RolloutTree, group: SiblingGroup, budget: int) -> None:
    """Keep ``budget`` graded members: the highest R~, the lowest, the next highest, ... (ties by order)."""
    graded = sorted((n for n in tree.members(group) if n.credit is not None), key=lambda n: (n.credit, n.index))
    keep: list[Node] = []
    low, high = 0, len(graded) - 1
    take_high = True
    while low <= high and len(keep) < budget:
        if take_high:
            keep.append(graded[high])
            high -= 1
        else:
            keep.append(graded[low])
            low += 1
        take_high = not take_high
    chosen = {node.index for node in keep}
    for node in tree.members(group):
        node.kept = node.index in chosen
