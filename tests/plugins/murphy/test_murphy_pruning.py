"""Property 6: credit is computed before pruning; pruning never changes a kept node's credit or
advantage and never keeps more than its budgets allow."""

from __future__ import annotations

import copy
import random

import pytest
from hfplug_murphy.credit import assign_advantages, propagate_credit
from hfplug_murphy.pruning import credit_variance, prune


def scored(tree, rule="max"):
    propagate_credit(tree, rule)
    assign_advantages([tree], "group")
    return tree


@pytest.mark.parametrize("budgets", [(1, None), (2, 2), (None, 2), (3, 3), (1, 5)])
def test_pruning_keeps_credit_and_advantages_and_respects_budgets(trees, budgets):
    groups, per_group = budgets
    rng = random.Random(11)
    for _ in range(40):
        tree = scored(trees.random_tree(rng, group_size=4, max_turns=3, p_none=0.15))
        before = copy.deepcopy(tree)
        prune(tree, groups=groups, per_group=per_group)
        kept = [n for n in tree.nodes if n.trainable]
        for node in tree.nodes:
            assert node.credit == before.nodes[node.index].credit
            assert node.advantage == before.nodes[node.index].advantage
        kept_groups = {n.group for n in kept}
        if groups is not None:
            assert len(kept_groups) <= groups
        if per_group is not None:
            for group in kept_groups:
                assert sum(n.group == group for n in kept) <= per_group
        assert all(n.reward is not None for n in kept)


def test_inter_prune_keeps_the_groups_with_most_credit_variance(trees):
    # Turn 1 varies a little, one refinement group varies a lot, the other not at all.
    tree = scored(trees.tree_from([(0.0, [1.0, 0.0]), (0.25, [0.0, 0.0])], group_size=2))
    variances = [credit_variance(tree, g) for g in tree.groups]
    assert variances[1] > variances[0] > variances[2] == 0.0
    prune(tree, groups=1, per_group=None)
    assert [g.kept for g in tree.groups] == [False, True, False]
    assert [n.kept for n in tree.nodes] == [False, False, True, True, False, False]


def test_intra_prune_keeps_the_extremes(trees):
    tree = scored(trees.tree_from([0.1, 0.9, 0.5, 0.0, 0.7, 1.0], group_size=6))
    prune(tree, groups=None, per_group=3)
    kept = sorted(n.credit for n in tree.nodes if n.kept)
    assert kept == [0.0, 0.9, 1.0]
    prune(tree, groups=None, per_group=2)
    assert sorted(n.credit for n in tree.nodes if n.kept) == [0.0, 1.0]
