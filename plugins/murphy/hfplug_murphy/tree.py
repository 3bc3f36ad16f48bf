"""The feedback-conditioned rollout tree of one task: nodes (generated programs) in sibling groups.

A sibling group is G completions sampled from one conditioning prompt: the task itself (turn 1)
or a refinement prompt built from one failed node (its parent). Credit, advantages and pruning
all work on this structure; it holds no tensors, so it is cheap to build and to test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Node:
    """One generated program and everything Murphy learns about it."""

    index: int
    """Position in ``RolloutTree.nodes``."""
    group: int
    """Index of its sibling group in ``RolloutTree.groups``."""
    depth: int
    """Turn that produced it: 1 for the task's own samples."""
    prompt: Any
    """The conditioning prompt it was sampled from (a string or chat messages)."""
    prompt_ids: list[int]
    completion_ids: list[int]
    completion: Any
    """The decoded completion, as trl hands it to reward functions (a string or chat messages)."""
    sampling_logprobs: list[float] | None = None
    """Per-token log-probabilities from the generation engine (vLLM), when it reports them."""
    reward: float | None = None
    """r(n): the hidden-test score (summed with any extra reward functions); None when grading failed."""
    func_rewards: list[float] | None = None
    """Each reward function's score (NaN where it returned None), as trl's ``rewards_per_func`` row."""
    solved: bool = False
    feedback: str = ""
    credit: float | None = None
    """R~(n), propagated from its refinements (None when its reward is None)."""
    advantage: float = 0.0
    child_group: int | None = None
    """The sibling group of its refinements, when it was expanded."""
    kept: bool = True
    """False when pruning dropped it from the loss (credit and advantage stay as computed)."""

    @property
    def scorable(self) -> bool:
        return self.reward is not None

    @property
    def trainable(self) -> bool:
        """Enters the loss: graded and not pruned."""
        return self.scorable and self.kept


@dataclass
class SiblingGroup:
    """G completions of one conditioning prompt."""

    index: int
    parent: int | None
    """The node whose failure this group refines (None for turn 1)."""
    depth: int
    members: list[int] = field(default_factory=list)
    kept: bool = True


@dataclass
class RolloutTree:
    """All nodes sampled for one task (one dataset row)."""

    task_prompt: Any
    columns: dict[str, Any]
    """The row's other columns (tests, entry point, ...), handed to the reward functions."""
    nodes: list[Node] = field(default_factory=list)
    groups: list[SiblingGroup] = field(default_factory=list)

    def add_group(self, parent: int | None, depth: int) -> SiblingGroup:
        group = SiblingGroup(index=len(self.groups), parent=parent, depth=depth)
        self.groups.append(group)
        if parent is not None:
            self.nodes[parent].child_group = group.index
        return group

    def add_node(self, group: SiblingGroup, **fields: Any) -> Node:
        node = Node(index=len(self.nodes), group=group.index, depth=group.depth, **fields)
        self.nodes.append(node)
        group.members.append(node.index)
        return node

    def children(self, node: Node) -> list[Node]:
        if node.child_group is None:
            return []
        return [self.nodes[i] for i in self.groups[node.child_group].members]

    def members(self, group: SiblingGroup) -> list[Node]:
        return [self.nodes[i] for i in group.members]

    def generated_tokens(self) -> int:
        return sum(len(node.completion_ids) for node in self.nodes)

    def bottom_up(self) -> Iterator[Node]:
        """Nodes deepest turn first, so every child is visited before its parent."""
        return iter(sorted(self.nodes, key=lambda node: -node.depth))
