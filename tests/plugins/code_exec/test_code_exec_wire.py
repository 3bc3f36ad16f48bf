"""The wire format: round trips built-in values and LeetCode's list and tree nodes, refuses everything else."""

from __future__ import annotations

import json

import pytest
from hfplug_code_exec.sandbox.wire import ListNode, TreeNode, UnsupportedValue, from_wire, to_wire


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        0,
        -(10**30),
        1.5,
        float("inf"),
        "é",
        [1, [2]],
        (1, (2,)),
        {1: "a", (2, 3): [4]},
        {1, 2},
        frozenset({"x"}),
        b"\x00\xff",
        1 + 2j,
        {"t": [1]},
    ],
)
def test_round_trip_keeps_value_and_type(value):
    back = from_wire(json.loads(json.dumps(to_wire(value))))
    assert back == value and type(back) is type(value)


def test_subclasses_and_objects_are_refused():
    class Sneaky(int):
        def __eq__(self, other):
            return True

    for value in (Sneaky(1), object(), [1, object()], {"k": lambda: 0}):
        with pytest.raises(UnsupportedValue):
            to_wire(value)


def test_malformed_data_is_rejected():
    bad_graphs = (
        {"g": [{"n": 1}, [["L", 1, None]]]},  # a reference past the table
        {"g": [{"n": 0}, [["L", 1, 5]]]},  # a link past the table
        {"g": [{"n": 0}, [["X", 1, None]]]},  # an unknown kind
        {"g": [{"n": 0}, [["T", 1, None]]]},  # a tree node without its right link
        {"n": 0},  # a reference outside a graph
    )
    for data in ({"x": 1}, {"t": 1, "s": 2}, {"s": [[1]]}, {"d": [[[1], 2]]}, *bad_graphs):
        with pytest.raises((ValueError, TypeError)):
            from_wire(data)


def _trip(value, graph=None):
    return from_wire(json.loads(json.dumps(to_wire(value, graph))), graph)


def test_nodes_build_leetcodes_layouts():
    head = ListNode.from_list([3, 1, 2])
    assert (head.val, head.next.val, head.next.next.val, head.next.next.next) == (3, 1, 2, None)
    assert ListNode.from_list([]) is None and head.to_list() == [3, 1, 2]
    root = TreeNode.from_list([1, None, 2, 3])  # LeetCode's example: 1's right child 2, whose left child is 3
    assert root.left is None and root.right.val == 2 and root.right.left.val == 3 and root.right.right is None
    assert root.to_list() == [1, None, 2, 3] and TreeNode.from_list([]) is None
    full = [5, 4, 8, 11, None, 13, 4, 7, 2, None, None, None, 1]
    assert TreeNode.from_list(full).to_list() == full
    assert TreeNode.from_list(full).find_node(13).val == 13 and TreeNode.from_list(full).find_node(99) is None


def test_lists_and_trees_cross_with_cycles_shared_nodes_and_identity():
    head = ListNode.from_list([1, 2, 3])
    head.next.next.next = head.next  # a cycle back to 2
    back = _trip(head)
    assert back.val == 1 and back.next.next.next is back.next and back.has_cycle()
    root = TreeNode.from_list([1, 2, 3])
    pair = _trip((root, root.left))  # the second argument is a node of the first: it stays that node
    assert pair[1] is pair[0].left and pair[0].to_list() == [1, 2, 3]
    shared = TreeNode(0, TreeNode(1), None)
    shared.right = shared.left
    with pytest.raises(ValueError, match="not a tree"):
        _trip(shared).to_list()


def test_a_reply_updates_the_callers_nodes_in_place_and_returns_them_as_themselves():
    caller_graph: list = []
    arguments = [ListNode.from_list([1, 2, 3])]
    sent = json.loads(json.dumps(to_wire(arguments, caller_graph)))
    callee_graph: list = []
    (head,) = from_wire(sent, callee_graph)
    head.next = head.next.next  # the callee removes 2 and returns its own node 3
    reply = json.loads(json.dumps(to_wire(head.next, callee_graph)))
    returned = from_wire(reply, caller_graph)
    assert arguments[0].to_list() == [1, 3] and returned is arguments[0].next


def test_a_node_of_another_kind_or_without_its_links_is_refused():
    class ListNode:  # a class of the program's, named like ours but without ``next``
        def __init__(self):
            self.val = 1

    with pytest.raises(UnsupportedValue, match="without 'next'"):
        to_wire(ListNode())
    with pytest.raises(UnsupportedValue, match="links to a"):
        to_wire(TreeNode(1, ListNode(), None))
