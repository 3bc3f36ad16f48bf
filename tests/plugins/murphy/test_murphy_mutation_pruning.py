"""IntraP and InterP against their definitions written here: IntraP with budget b keeps the ceil(b/2) highest and
the floor(b/2) lowest credits of a group's graded members (ties by position), InterP ranks groups by the population
variance of their graded members' credits, a group with fewer than two graded members having variance 0."""

from __future__ import annotations

import random
import statistics

import pytest
from hfplug_murphy.credit import propagate_credit
from hfplug_murphy.pruning import credit_variance, prune


def expected_intra_kept(members, budget: int) -> set[int]:
    graded = sorted((n for n in members if n.credit is not None), key=lambda n: (n.credit, n.index))
    if budget >= len(graded):
        return {n.index for n in graded}
    highs, lows = (budget + 1) // 2, budget // 2
    return {n.index for n in graded[len(graded) - highs :]} | {n.index for n in graded[:lows]}


@pytest.mark.parametrize("group_size", [3, 6, 7])
def test_intra_prune_keeps_the_highest_and_lowest_credits_for_every_budget(trees, group_size):
    rng = random.Random(group_size)
    for _ in range(15):
        tree = trees.random_tree(rng, group_size=group_size, max_turns=2, p_none=0.2)
        propagate_credit(tree, "max")
        for budget in range(1, group_size + 2):
            prune(tree, groups=None, per_group=budget)
            for group in tree.groups:
                members = tree.members(group)
                kept = {n.index for n in members if n.kept}
                assert kept == expected_intra_kept(members, budget), (budget, [n.credit for n in members])


def test_a_group_with_one_graded_member_has_no_variance_and_is_pruned_first(trees):
    # Turn 1 varies (0 and 0.5); the refinement group of its first node has one graded member, the other none.
    tree = trees.tree_from([(0.0, [0.25, None]), (0.5, [None, None])], group_size=2)
    propagate_credit(tree, "max")
    assert [credit_variance(tree, g) for g in tree.groups] == [statistics.pvariance([0.25, 0.5]), 0.0, 0.0]
    prune(tree, groups=1, per_group=None)
    assert [g.kept for g in tree.groups] == [True, False, False]
    assert [n.kept for n in tree.nodes] == [True, True, False, False, False, False]
