"""A safe wire format for Python values crossing the sandbox boundary (both directions).

Plain JSON carries ``None``, ``bool``, ``int``, ``float`` (NaN/inf included), ``str`` and
``list``; every other type travels as a one-key JSON object (``{"t": [...]}`` for a tuple ...).
Decoding only ever builds built-in types, so a value coming out of the sandbox cannot carry an
``__eq__`` of the program's choosing. Nothing here uses pickle or eval.

This file is stdlib-only: it is also imported inside the sandbox.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 100


class UnsupportedValue(ValueError):
    """The value has a type that cannot cross the boundary (a custom class, a function, ...)."""


def to_wire(value: Any, depth: int = 0) -> Any:
    """Turn ``value`` into JSON-ready data; only exact built-in types are accepted (no subclasses)."""
    if depth > MAX_DEPTH:
        raise UnsupportedValue("value nested too deeply")
    kind = type(value)
    if value is None or kind is bool or kind is int or kind is float or kind is str:
        return value
    if kind is list:
        return [to_wire(item, depth + 1) for item in value]
    if kind is tuple:
        return {"t": [to_wire(item, depth + 1) for item in value]}
    if kind is dict:
        return {"d": [[to_wire(k, depth + 1), to_wire(v, depth + 1)] for k, v in value.items()]}
    if kind is set:
        return {"s": [to_wire(item, depth + 1) for item in value]}
    if kind is frozenset:
        return {"f": [to_wire(item, depth + 1) for item in value]}
    if kind is bytes:
        return {"b": value.hex()}
    if kind is complex:
        return {"c": [value.real, value.imag]}
    raise UnsupportedValue(f"values of type {kind.__name__} cannot be returned")


def _hashable(item: Any) -> Any:
    if isinstance(item, list | dict | set):
        raise ValueError("unhashable value used as a key or set member")
    return item


def from_wire(data: Any) -> Any:
    """Rebuild a value from :func:`to_wire`'s output (already JSON-decoded); only built-in types come out."""
    if isinstance(data, list):
        return [from_wire(item) for item in data]
    if not isinstance(data, dict):
        return data
    if len(data) != 1:
        raise ValueError("malformed wire object")
    ((tag, payload),) = data.items()
    if tag == "b":
        return bytes.fromhex(payload)
    if tag == "c":
        return complex(float(payload[0]), float(payload[1]))
    if not isinstance(payload, list):
        raise ValueError("malformed wire object")
    if tag == "d":
        return {_hashable(from_wire(key)): from_wire(value) for key, value in payload}
    items = [from_wire(item) for item in payload]
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
