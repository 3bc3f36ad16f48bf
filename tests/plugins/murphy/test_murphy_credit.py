"""Property 2 (retrospective credit) and property 3 (advantages within sibling groups)."""

from __future__ import annotations

import random
import statistics

import pytest
import torch
from hfplug_murphy.credit import assign_advantages, propagate_credit


def test_failed_node_whose_child_passes_gets_credit_one_under_max(trees):
    tree = trees.tree_from([(0.0, [1.0, 0.0]), 0.0], group_size=2)
    propagate_credit(tree, "max")
    failed, other = tree.members(tree.groups[0])
    assert failed.reward == 0.0 and failed.credit == 1.0
    assert other.credit == 0.0
    propagate_credit(tree, "none")
    assert failed.credit == 0.0  # plain GRPO: no credit from the refinement


def test_mean_rule_takes_the_mean_of_refinements_unless_the_node_did_better(trees):
    tree = trees.tree_from([(0.0, [1.0, 0.0, 0.5]), (0.8, [0.0, 0.0, 0.3]), 0.2], group_size=3)
    propagate_credit(tree, "mean")
    first, second, third = tree.members(tree.groups[0])
    assert first.credit == pytest.approx(0.5)
    assert second.credit == pytest.approx(0.8)  # max(r, mean) keeps its own better reward
    assert third.credit == pytest.approx(0.2)


def test_credit_flows_up_several_turns(trees):
    tree = trees.tree_from([(0.0, [(0.25, [1.0, 0.0]), 0.0]), 0.5], group_size=2)
    propagate_credit(tree, "max")
    assert tree.nodes[0].credit == 1.0 and tree.nodes[1].credit == 0.5
    propagate_credit(tree, "mean")
    # grandchildren mean 0.5 > 0.25 -> child 0.5; children mean (0.5 + 0) / 2 = 0.25 -> root max(0, 0.25)
    assert tree.nodes[0].credit == pytest.approx(0.25)


def test_ungraded_refinements_are_ignored_and_ungraded_nodes_get_no_credit(trees):
    tree = trees.tree_from([(0.25, [None, None]), None], group_size=2)
    propagate_credit(tree, "max")
    assert tree.nodes[0].credit == 0.25 and tree.nodes[1].credit is None


def reference_credit(tree, node, rule):
    """Credit by plain recursion from the definitions (independent of the bottom-up loop)."""
    if node.reward is None:
        return None
    below = [reference_credit(tree, c, rule) for c in tree.children(node)]
    below = [c for c in below if c is not None]
    if rule == "none" or not below:
        return node.reward
    return max(node.reward, max(below) if rule == "max" else statistics.fmean(below))


@pytest.mark.parametrize("rule", ["max", "mean", "none"])
def test_random_trees_match_the_recursive_definition(trees, rule):
    rng = random.Random(7)
    for _ in range(60):
        tree = trees.random_tree(rng, group_size=rng.randint(2, 4), max_turns=rng.randint(1, 4))
        propagate_credit(tree, rule)
        for node in tree.nodes:
            expected = reference_credit(tree, node, rule)
            assert node.credit == pytest.approx(expected), (rule, node.index)
            if node.reward is not None:
                assert node.credit >= node.reward


@pytest.mark.parametrize("scale", ["group", "batch", "none"])
def test_advantages_sum_to_zero_in_every_sibling_group(trees, scale):
    rng = random.Random(3)
    forest = [trees.random_tree(rng, group_size=4, max_turns=3) for _ in range(20)]
    for tree in forest:
        propagate_credit(tree, "max")
    assign_advantages(forest, scale)
    checked = 0
    for tree in forest:
        for group in tree.groups:
            members = tree.members(group)
            assert sum(n.advantage for n in members) == pytest.approx(0.0, abs=1e-4)  # float32 rounding
            assert all(n.advantage == 0.0 for n in members if n.credit is None)
            checked += 1
    assert checked > 40


def test_advantages_are_grpo_normalisation_of_credit_within_the_group(trees):
    tree = trees.tree_from([(0.0, [1.0, 0.0, 0.0]), 0.5, 1.0], group_size=3)
    propagate_credit(tree, "max")
    assign_advantages([tree], "group")
    credits = torch.tensor([1.0, 0.5, 1.0])
    expected = (credits - credits.mean()) / (credits.std() + 1e-4)
    assert [n.advantage for n in tree.members(tree.groups[0])] == pytest.approx(expected.tolist(), abs=1e-6)
    refined = torch.tensor([1.0, 0.0, 0.0])
    expected = (refined - refined.mean()) / (refined.std() + 1e-4)
    assert [n.advantage for n in tree.members(tree.groups[1])] == pytest.approx(expected.tolist(), abs=1e-6)


def test_a_constant_group_gets_zero_advantage_even_beside_other_groups(trees):
    forest = [trees.tree_from([0.5, 0.5, 0.5], 3), trees.tree_from([0.0, 1.0, 0.5], 3)]
    for tree in forest:
        propagate_credit(tree, "max")
    for scale in ("group", "batch", "none"):
        assign_advantages(forest, scale)
        assert [n.advantage for n in forest[0].nodes] == [0.0, 0.0, 0.0]
        assert any(n.advantage != 0.0 for n in forest[1].nodes)
