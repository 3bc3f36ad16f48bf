"""Growing the rollout trees: sample, grade, expand the failures, repeat up to ``max_turns``.

The loop knows nothing about models or sandboxes: it calls ``generate`` (prompts, each repeated G
times in a row, exactly as trl's GRPO generation expects them) and ``grade`` (sets reward, solved
and feedback on new nodes). The trainer passes trl's own generation path (transformers or vLLM)
and the grading reward; tests pass deterministic stand-ins.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hfplug_murphy.tree import Node, RolloutTree


@dataclass
class Generation:
    """One completion as the generation backend returned it."""

    prompt_ids: list[int]
    completion_ids: list[int]
    completion: Any
    logprobs: list[float] | None = None


Generate = Callable[[list[Any]], list[Generation]]
Grade = Callable[[list[tuple[RolloutTree, Node]]], None]
MakePrompt = Callable[[RolloutTree, Node], Any]


@dataclass(frozen=True)
class TreeBudget:
    """Per-task limits that growth never exceeds (None: unlimited)."""

    max_nodes: int | None = None
    max_tokens: int | None = None
    completion_cap: int | None = None
    """The longest a completion can be (max_completion_length): what a token budget must reserve."""

    def allows(self, nodes: int, tokens: int, group_size: int) -> bool:
        """Whether ``group_size`` more nodes fit after ``nodes`` nodes and ``tokens`` generated (or reserved) tokens."""
        if self.max_nodes is not None and nodes + group_size > self.max_nodes:
            return False
        if self.max_tokens is not None:
            reserve = group_size * (self.completion_cap or 0)
            if tokens + reserve > self.max_tokens:
                return False
        return True


def expandable(tree: RolloutTree, depth: int, budget: TreeBudget, group_size: int) -> list[Node]:
    """The failed, graded nodes of turn ``depth`` to refine, best reward first, within the budget."""
    failed = [n for n in tree.nodes if n.depth == depth and n.reward is not None and not n.solved]
    failed.sort(key=lambda n: (-n.reward, n.index))
    chosen: list[Node] = []
    nodes, tokens = len(tree.nodes), tree.generated_tokens()
    for node in failed:
        if not budget.allows(nodes, tokens, group_size):
            break
        chosen.append(node)
        nodes += group_size
        tokens += group_size * (budget.completion_cap or 0)
    return chosen


def grow_trees(
    trees: Sequence[RolloutTree],
    *,
    generate: Generate,
    grade: Grade,
    make_prompt: MakePrompt,
    group_size: int,
    max_turns: int,
    budget: TreeBudget = TreeBudget(),
) -> None:
    """Sample turn 1 for every tree, then refine failed nodes turn by turn.

    ``generate`` and ``grade`` are called once per turn (also with no prompts or nodes, so that
    processes that generate and score together keep in step), each conditioning prompt repeated
    ``group_size`` times in a row.
    """
    parents: list[tuple[RolloutTree, Node | None]] = [(tree, None) for tree in trees]
    for depth in range(1, max_turns + 1):
        prompts = [tree.task_prompt if node is None else make_prompt(tree, node) for tree, node in parents]
        generations = generate([prompt for prompt in prompts for _ in range(group_size)])
        if len(generations) != group_size * len(prompts):
            raise RuntimeError(
                f"the generation backend returned {len(generations)} completions for {len(prompts)} prompts x "
                f"{group_size} generations."
            )
        new: list[tuple[RolloutTree, Node]] = []
        for k, ((tree, parent), prompt) in enumerate(zip(parents, prompts, strict=True)):
            group = tree.add_group(None if parent is None else parent.index, depth)
            for out in generations[k * group_size : (k + 1) * group_size]:
                node = tree.add_node(
                    group,
                    prompt=prompt,
                    prompt_ids=list(out.prompt_ids),
                    completion_ids=list(out.completion_ids),
                    completion=out.completion,
                    sampling_logprobs=out.logprobs,
                )
                new.append((tree, node))
        grade(new)  # also with no new nodes: processes that score together keep in step
        if depth == max_turns:
            break
        parents = [(tree, node) for tree in trees for node in expandable(tree, depth, budget, group_size)]
