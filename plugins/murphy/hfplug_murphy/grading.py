"""Scoring nodes: the grading reward (hidden-test score + public feedback) and every other reward.

The grading reward is found among ``reward_funcs`` by its ``grade`` method (the contract of
``hfplug.feedback``), so Murphy never imports a reward plugin. It is needed only to grow trees
(``max_turns > 1``): refinement prompts quote its feedback. The scores of all reward functions and
reward models come from trl's own reward computation (``GRPOTrainer._calculate_rewards``), handed
in as ``score``, so they receive what trl gives them. Every reward sees the TASK's prompt and the
row's columns, never the refinement prompt: a program is judged by the task it solves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from hfplug.errors import ConfigError, HfplugError
from hfplug.feedback import GradedCompletion
from hfplug_murphy.tree import Node, RolloutTree

Items = list[tuple[RolloutTree, Node]]
Score = Callable[[Items, list[float | None]], torch.Tensor]
"""(nodes, the grading reward's value for each) -> rewards per function, shape (nodes, functions), NaN for None."""


def reward_name(func: Any) -> str:
    return getattr(func, "__name__", type(func).__name__)


def find_grader(reward_funcs: Sequence[Any]) -> int | None:
    """Index of the one reward function that can ``grade``; None when there is none."""
    graders = [i for i, f in enumerate(reward_funcs) if callable(getattr(f, "grade", None))]
    if len(graders) > 1:
        raise ConfigError(
            f"reward_funcs: Murphy takes its feedback from one grading reward, got {len(graders)}: "
            f"{[reward_name(reward_funcs[i]) for i in graders]}. Keep one; other rewards may be added beside it."
        )
    return graders[0] if graders else None


def require_grader(reward_funcs: Sequence[Any], max_turns: int) -> int:
    """The grading reward's index; a ConfigError saying why when ``max_turns > 1`` and there is none."""
    index = find_grader(reward_funcs)
    if index is None:
        names = [reward_name(f) if not isinstance(f, str) else f for f in reward_funcs]
        raise ConfigError(
            f"reward_funcs: with max_turns={max_turns} Murphy re-prompts failed programs with their execution "
            "feedback, so it needs a reward that also returns feedback (a grade() method, see hfplug.feedback), "
            f"e.g. unit_tests from hfplug-code-exec; got {names or 'none'}. With max_turns=1 (GRPO) any reward works."
        )
    return index


class NodeGrader:
    """Grades nodes in one batch: reward (weighted sum over functions, as trl), solved and feedback."""

    def __init__(self, grader: Any, score: Score, weights: torch.Tensor) -> None:
        self.grader = grader
        self.score = score
        self.weights = weights.detach().to("cpu", torch.float32)
        self.executions = 0
        self.order: list[Node] = []
        """Every node graded since the last ``reset``, in grading order (the order of trl's completion logs)."""
        self.calls: list[int] = []
        """How many of ``order`` each call since the last ``reset`` graded (0 for a call with nothing to grade)."""

    def reset(self) -> None:
        self.order = []
        self.calls = []

    def __call__(self, items: Items) -> None:
        self.calls.append(len(items))
        if not items:
            self.score([], [])  # nothing to grade here; other processes may be scoring
            return
        prompts = [tree.task_prompt for tree, _ in items]
        completions = [node.completion for _, node in items]
        columns = {key: [tree.columns[key] for tree, _ in items] for key in items[0][0].columns}
        graded = self.grader.grade(prompts, completions, **columns)
        self.executions += len(items)
        check_graded(graded, len(items), self.grader)
        per_func = self.score(items, [g.reward for g in graded]).detach().to("cpu", torch.float32)
        if per_func.shape != (len(items), len(self.weights)):
            raise HfplugError(f"reward scores of shape {tuple(per_func.shape)} for {len(items)} completions.")
        rewards = (per_func * self.weights.unsqueeze(0)).nansum(dim=1)
        for (_, node), grade, reward, row in zip(items, graded, rewards.tolist(), per_func.tolist(), strict=True):
            node.func_rewards = row
            node.reward = None if grade.reward is None else reward
            node.solved = bool(grade.solved) and grade.reward is not None
            node.feedback = grade.feedback or ""
            self.order.append(node)


def check_graded(graded: Any, expected: int, grader: Any) -> None:
    """The grader kept its contract: one :class:`GradedCompletion` per completion."""
    name = reward_name(grader)
    if not isinstance(graded, list | tuple) or len(graded) != expected:
        size = len(graded) if hasattr(graded, "__len__") else "no list"
        raise HfplugError(f"reward {name!r}: grade() returned {size} results for {expected} completions.")
    wrong = next((g for g in graded if not isinstance(g, GradedCompletion)), None)
    if wrong is not None:
        raise HfplugError(
            f"reward {name!r}: grade() must return hfplug.feedback.GradedCompletion objects, "
            f"got {type(wrong).__name__}."
        )
