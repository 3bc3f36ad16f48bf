"""Scoring nodes: the grading reward (hidden-test score + public feedback) and any extra rewards.

The grading reward is found among ``reward_funcs`` by its ``grade`` method (the contract of
``hfplug.feedback``), so Murphy never imports a reward plugin. Every reward function sees the
TASK's prompt and the row's columns, as in plain GRPO, never the refinement prompt: a program is
judged by the task it solves, whatever conversation produced it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from hfplug.errors import ConfigError, HfplugError
from hfplug.feedback import GradedCompletion
from hfplug_murphy.tree import Node, RolloutTree


def find_grader(reward_funcs: Sequence[Any]) -> int:
    """Index of the one reward function that can ``grade`` (raises ConfigError otherwise)."""
    graders = [i for i, f in enumerate(reward_funcs) if callable(getattr(f, "grade", None))]
    names = [getattr(f, "__name__", type(f).__name__) for f in reward_funcs]
    if not graders:
        raise ConfigError(
            f"reward_funcs: Murphy needs a reward that also returns execution feedback (a grade() method, see "
            f"hfplug.feedback), e.g. unit_tests from hfplug-code-exec; got {names or 'none'}."
        )
    if len(graders) > 1:
        raise ConfigError(
            f"reward_funcs: Murphy takes its feedback from one grading reward, got {len(graders)}: "
            f"{[names[i] for i in graders]}. Keep one; plain reward functions may be added beside it."
        )
    for f, name in zip(reward_funcs, names, strict=True):
        if isinstance(f, torch.nn.Module):
            raise ConfigError(f"reward_funcs: {name} is a reward model; Murphy supports reward functions only.")
    return graders[0]


class NodeGrader:
    """Grades nodes in one batch and records reward (weighted sum, as trl), solved and feedback."""

    def __init__(
        self,
        reward_funcs: Sequence[Callable[..., Any]],
        weights: torch.Tensor,
        grader_index: int,
        extra_kwargs: Callable[[], dict[str, Any]] = dict,
    ) -> None:
        self.reward_funcs = list(reward_funcs)
        self.weights = weights.to(torch.float32)
        self.grader_index = grader_index
        self.extra_kwargs = extra_kwargs
        self.executions = 0

    @property
    def grader(self) -> Any:
        return self.reward_funcs[self.grader_index]

    def __call__(self, items: list[tuple[RolloutTree, Node]]) -> None:
        prompts = [tree.task_prompt for tree, _ in items]
        completions = [node.completion for _, node in items]
        columns = {key: [tree.columns[key] for tree, _ in items] for key in items[0][0].columns}
        graded = self.grader.grade(prompts, completions, **columns)
        self.executions += len(items)
        check_graded(graded, len(items), self.grader)
        per_func = torch.full((len(items), len(self.reward_funcs)), float("nan"), dtype=torch.float32)
        per_func[:, self.grader_index] = torch.tensor(
            [float("nan") if g.reward is None else g.reward for g in graded], dtype=torch.float32
        )
        for i, func in enumerate(self.reward_funcs):
            if i == self.grader_index:
                continue
            values = func(prompts=prompts, completions=completions, **columns, **self.extra_kwargs())
            if len(values) != len(items):
                raise HfplugError(
                    f"reward {func.__name__!r} returned {len(values)} rewards for {len(items)} completions."
                )
            per_func[:, i] = torch.tensor([float("nan") if v is None else v for v in values], dtype=torch.float32)
        rewards = (per_func * self.weights.unsqueeze(0)).nansum(dim=1)
        for (_, node), grade, reward in zip(items, graded, rewards.tolist(), strict=True):
            node.reward = None if grade.reward is None else reward
            node.solved = bool(grade.solved) and grade.reward is not None
            node.feedback = grade.feedback or ""


def check_graded(graded: Any, expected: int, grader: Any) -> None:
    """The grader kept its contract: one :class:`GradedCompletion` per completion."""
    name = getattr(grader, "__name__", type(grader).__name__)
    if not isinstance(graded, list | tuple) or len(graded) != expected:
        size = len(graded) if hasattr(graded, "__len__") else "no list"
        raise HfplugError(f"reward {name!r}: grade() returned {size} results for {expected} completions.")
    wrong = next((g for g in graded if not isinstance(g, GradedCompletion)), None)
    if wrong is not None:
        raise HfplugError(
            f"reward {name!r}: grade() must return hfplug.feedback.GradedCompletion objects, "
            f"got {type(wrong).__name__}."
        )
