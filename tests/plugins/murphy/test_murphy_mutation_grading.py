"""NodeGrader and the grader's contract, with a recording grader and scorer: what each reward sees (the task's
prompt and columns), the reward as trl's weighted sum over functions (NaN skipped), when a node counts as solved,
and a grader that breaks its contract refused by name."""

from __future__ import annotations

import math

import pytest
import torch
from hfplug_murphy.grading import NodeGrader, check_graded, find_grader, require_grader
from hfplug_murphy.tree import RolloutTree

from hfplug.errors import ConfigError, HfplugError
from hfplug.feedback import GradedCompletion


class RecordingGrader:
    """Grades from a list of prepared results and records what it was given."""

    __name__ = "recording"

    def __init__(self, results: list[GradedCompletion]) -> None:
        self.results = list(results)
        self.seen: list[tuple] = []

    def grade(self, prompts, completions, **columns):
        self.seen.append((prompts, completions, columns))
        graded, self.results = self.results[: len(completions)], self.results[len(completions) :]
        return graded


def items_of(count_per_tree: list[int]):
    items = []
    for t, count in enumerate(count_per_tree):
        tree = RolloutTree(task_prompt=f"task {t}", columns={"tests": f"tests {t}", "entry": t})
        group = tree.add_group(None, 1)
        for i in range(count):
            node = tree.add_node(group, prompt=f"refine {t}", prompt_ids=[1], completion_ids=[2], completion=f"p{t}{i}")
            items.append((tree, node))
    return items


def test_rewards_are_the_weighted_sum_over_functions_skipping_nan():
    grades = [
        GradedCompletion(1.0, True, "All passed."),
        GradedCompletion(0.5, False, "1 of 2 failed."),
        GradedCompletion(None, True, None),  # infrastructure failure: not scored, never solved
        GradedCompletion(0.0, False, ""),
    ]
    per_func = torch.tensor([[1.0, 0.2, 4.0], [0.5, float("nan"), -1.0], [float("nan"), 0.7, 2.0], [0.0, 0.1, 0.0]])
    weights = [2.0, -1.0, 0.25]
    scored = []

    def score(items, grader_values):
        scored.append((len(items), grader_values))
        return per_func

    grader = RecordingGrader(grades)
    node_grader = NodeGrader(grader, score, torch.tensor(weights))
    items = items_of([3, 1])
    node_grader(items)

    assert scored == [(4, [1.0, 0.5, None, 0.0])]
    nodes = [node for _, node in items]
    for node, row, grade in zip(nodes, per_func.tolist(), grades, strict=True):
        assert node.func_rewards == pytest.approx(row, nan_ok=True)
        expected = sum(w * v for w, v in zip(weights, row, strict=True) if not math.isnan(v))
        assert node.reward == (None if grade.reward is None else pytest.approx(expected))
    assert [n.solved for n in nodes] == [True, False, False, False]
    assert [n.feedback for n in nodes] == ["All passed.", "1 of 2 failed.", "", ""]
    assert node_grader.order == nodes and node_grader.calls == [4] and node_grader.executions == 4


def test_the_grader_sees_the_task_prompt_and_columns_of_each_node():
    grader = RecordingGrader([GradedCompletion(0.0, False, "")] * 3)
    items = items_of([2, 1])
    NodeGrader(grader, lambda items, values: torch.zeros(len(items), 1), torch.ones(1))(items)
    prompts, completions, columns = grader.seen[0]
    assert prompts == ["task 0", "task 0", "task 1"]
    assert completions == ["p00", "p01", "p10"]
    assert columns == {"tests": ["tests 0", "tests 0", "tests 1"], "entry": [0, 0, 1]}


def test_an_empty_call_still_scores_and_every_call_is_counted_until_reset():
    grader = RecordingGrader([GradedCompletion(1.0, True, "")] * 3)
    scored = []

    def score(items, values):
        scored.append(values)
        return torch.ones(len(items), 1)

    node_grader = NodeGrader(grader, score, torch.ones(1))
    node_grader([])
    node_grader(items_of([2]))
    node_grader(items_of([1]))
    assert scored == [[], [1.0, 1.0], [1.0]]  # the empty call takes part in trl's collective scoring too
    assert [completions for _, completions, _ in grader.seen] == [["p00", "p01"], ["p00"]]
    assert node_grader.calls == [0, 2, 1] and node_grader.executions == 3 and len(node_grader.order) == 3
    node_grader.reset()
    assert node_grader.calls == [] and node_grader.order == [] and node_grader.executions == 3


def test_scores_of_the_wrong_shape_are_refused():
    grader = RecordingGrader([GradedCompletion(1.0, True, "")] * 2)
    node_grader = NodeGrader(grader, lambda items, values: torch.ones(len(items), 3), torch.ones(2))
    with pytest.raises(HfplugError, match=r"reward scores of shape \(2, 3\) for 2 completions"):
        node_grader(items_of([2]))


def test_a_grader_breaking_its_contract_is_named():
    grader = RecordingGrader([])
    with pytest.raises(HfplugError, match=r"'recording': grade\(\) returned 1 results for 2 completions"):
        check_graded([GradedCompletion(1.0, True, "")], 2, grader)
    with pytest.raises(HfplugError, match=r"'recording': grade\(\) returned no list results for 1 completions"):
        check_graded(None, 1, grader)
    with pytest.raises(HfplugError, match=r"must return hfplug.feedback.GradedCompletion objects, got float"):
        check_graded((GradedCompletion(1.0, True, ""), 1.0), 2, grader)
    check_graded((GradedCompletion(1.0, True, ""),), 1, grader)  # a tuple is a list of results too


def plain(prompts, completions, **columns):
    return [0.0] * len(completions)


class NotAGrader:
    grade = "not callable"


def test_the_grader_is_the_one_reward_with_a_callable_grade():
    grader = RecordingGrader([])
    assert find_grader([plain, "some/reward-model", NotAGrader(), grader]) == 3
    assert find_grader([plain, NotAGrader()]) is None
    assert require_grader([grader, plain], max_turns=2) == 0
    with pytest.raises(ConfigError, match=r"one grading reward, got 2: \['recording', 'recording'\]"):
        find_grader([grader, plain, grader])
    with pytest.raises(ConfigError, match=r"max_turns=3 .*got \['plain', 'some/reward-model'\]"):
        require_grader([plain, "some/reward-model"], max_turns=3)
    with pytest.raises(ConfigError, match=r"max_turns=2 .*got none"):
        require_grader([], max_turns=2)
