"""trl_logs against values computed here from their definitions: which nodes count as having no learning signal
(``frac_reward_zero_std``), the completions table row by row, and the flush of what reward functions send through
``log_extra`` / ``log_metric`` (as trl's ``_generate_and_score_completions`` flushes them), with several processes
simulated by ``gather`` functions that append the other processes' values."""

from __future__ import annotations

import math
import random
import statistics
from collections import defaultdict

import pytest
import torch
from hfplug_murphy.credit import propagate_credit
from hfplug_murphy.trl_logs import flush_extra_logs, flush_metrics, log_completions, log_reward_metrics, zero_std_flags


def no_spread(credits: list[float | None]) -> bool:
    """A deviation of zero over the graded credits (sample deviation; fewer than two graded: zero)."""
    graded = [c for c in credits if c is not None]
    return len(graded) < 2 or statistics.stdev(graded) == 0.0


def test_group_flags_mark_every_member_of_each_group_whose_graded_credits_are_equal(trees):
    rng = random.Random(0)
    seen = set()
    for _ in range(20):
        batch = [trees.random_tree(rng, group_size=3, max_turns=3, p_none=0.0) for _ in range(2)]
        for tree in batch:
            propagate_credit(tree, "max")
        expected = []
        for tree in batch:
            for group in tree.groups:
                credits = [n.credit for n in tree.members(group)]
                expected += [no_spread(credits)] * len(credits)
        assert zero_std_flags(batch, "group") == expected
        seen |= set(expected)
    assert seen == {True, False}  # both kinds of group occurred


def test_an_ungraded_member_does_not_count_in_its_groups_deviation(trees):
    tree = trees.tree_from([(0.5, [0.0, 0.0, None]), 0.5, None], group_size=3)
    propagate_credit(tree, "none")
    # Turn 1: graded 0.5, 0.5 (no spread); the refinement group: graded 0.0, 0.0 (no spread).
    assert zero_std_flags([tree], "group") == [True] * 6
    tree.nodes[1].credit = 0.25
    assert zero_std_flags([tree], "group") == [False] * 3 + [True] * 3


def test_batch_flags_follow_the_deviation_of_the_whole_batch(trees):
    varied = trees.tree_from([0.0, 1.0], group_size=2)
    constant = trees.tree_from([(0.5, [0.5, 0.5]), 0.5], group_size=2)
    for tree in (varied, constant):
        propagate_credit(tree, "none")
    # Each group of `constant` has no spread, and neither has the batch; `varied` beside it gives the batch one.
    assert zero_std_flags([constant], "batch") == [True] * 4
    assert zero_std_flags([constant, varied], "batch") == [False] * 6
    assert zero_std_flags([constant], "group") == [True] * 4
    # The deviation is over the credits of every process's nodes when given, not over this process's trees.
    assert zero_std_flags([constant], "batch", batch_credits=[0.5, 0.0, 1.0]) == [False] * 4
    assert zero_std_flags([varied], "batch", batch_credits=[0.5, 0.5, None]) == [True] * 2


def test_frac_reward_zero_std_is_the_share_of_flagged_nodes_over_every_process(trees):
    tree = trees.tree_from([(0.0, [0.5, 0.5]), 1.0], group_size=2)
    propagate_credit(tree, "max")
    # This process: turn 1 credits 0.5, 1.0 (spread), refinements 0.5, 0.5 (none): 2 of 4 flagged.
    assert zero_std_flags([tree], "group") == [False, False, True, True]
    other = [True, True, True, True, True, False]  # another process's flags
    metrics = defaultdict(list)

    def gather(local):
        return list(local) + (other if local else [])

    log_reward_metrics(metrics, ["scripted"], torch.ones(1), [tree], "group", gather=gather)
    assert metrics["frac_reward_zero_std"] == [pytest.approx((2 + 5) / 10)]


def completion_nodes(trees, count: int):
    tree = trees.tree_from([0.0] * count, group_size=count)
    for i, node in enumerate(tree.nodes):
        node.prompt, node.completion = f"prompt {i}", f"program {i}"
        node.func_rewards = None if i == 1 else [float(i), 10.0 + i]
        node.advantage, node.credit = 0.5 - i, 0.25 * i
        node.depth = 1 + i % 2
    return tree.nodes


def test_completions_table_lists_each_scoring_call_with_every_process_rows_in_order(trees):
    nodes = completion_nodes(trees, 4)
    other = ("q", "other", [7.0, 8.0], 9.0, 3, 0.75)  # another process graded one node in the second call

    def gather(rows):
        return rows + ([other] if len(rows) == 2 else [])

    logs = {"prompt": [], "completion": [], "rewards": defaultdict(list), "advantages": [], "extra": defaultdict(list)}
    log_completions(logs, ["a", "b"], nodes, calls=[1, 2, 0, 1], gather=gather)
    # Calls: node 0 | nodes 1, 2 and the other process's row | nothing | node 3.
    assert logs["prompt"] == ["prompt 0", "prompt 1", "prompt 2", "q", "prompt 3"]
    assert logs["completion"] == ["program 0", "program 1", "program 2", "other", "program 3"]
    nan = math.nan
    assert logs["rewards"]["a"] == pytest.approx([0.0, nan, 2.0, 7.0, 3.0], nan_ok=True)
    assert logs["rewards"]["b"] == pytest.approx([10.0, nan, 12.0, 8.0, 13.0], nan_ok=True)
    assert logs["advantages"] == [0.5, -0.5, -1.5, 9.0, -2.5]
    assert logs["extra"]["turn"] == [1, 2, 1, 3, 2]
    assert logs["extra"]["credit"] == [0.0, 0.25, 0.5, 0.75, 0.75]


def test_completions_table_without_calls_is_one_call_over_every_node(trees):
    nodes = completion_nodes(trees, 3)
    calls = []
    logs = {"prompt": [], "completion": [], "rewards": defaultdict(list), "advantages": [], "extra": defaultdict(list)}
    log_completions(logs, ["a", "b"], nodes, gather=lambda rows: calls.append(len(rows)) or rows)
    assert calls == [3]
    assert logs["completion"] == ["program 0", "program 1", "program 2"]


def test_extra_columns_are_flushed_for_this_batch_rows_and_filled_where_a_process_sent_none():
    pending = defaultdict(list, {"lengths": [3, 4, 5], "source": ["x", "y"]})
    extra = defaultdict(list)
    other_columns, other_values = ["lengths", "score"], {"lengths": [6, 7], "score": [0.1, 0.2], "source": [None] * 2}
    calls = []

    def gather_object(values):
        calls.append(values)
        if len(calls) == 1:  # the column names
            return values + other_columns
        column = ("lengths", "score", "source")[len(calls) - 2]  # columns are flushed in sorted order
        return values + other_values[column]

    flush_extra_logs(pending, extra, 2, gather_object)
    # This process's first 2 values, then the other process's; a column only the other process has gets None here.
    assert dict(extra) == {"lengths": [3, 4, 6, 7], "score": [None, None, 0.1, 0.2], "source": ["x", "y", None, None]}
    assert not pending


def test_logged_metrics_are_averaged_over_every_value_of_every_process():
    pending = defaultdict(list, {"m": [1.0, 3.0], "only_here": [4.0]})
    metrics = defaultdict(list, {"m": [0.5]})
    elsewhere = {"m": [5.0], "n": [2.0, 6.0], "only_here": []}  # another process's values
    order = []

    def gather_object(names):
        return [*names, "n"]

    def gather(stats):
        name = sorted({"m", "n", "only_here"})[len(order)]
        order.append(name)
        values = elsewhere[name]
        return torch.cat([stats, torch.tensor([sum(values), len(values)], dtype=torch.float32)])

    flush_metrics(pending, metrics, gather_object, gather)
    assert order == ["m", "n", "only_here"]
    assert metrics["m"] == [0.5, pytest.approx((1 + 3 + 5) / 3)]
    assert metrics["n"] == [pytest.approx((2 + 6) / 2)]
    assert metrics["only_here"] == [pytest.approx(4.0)]
    assert not pending
