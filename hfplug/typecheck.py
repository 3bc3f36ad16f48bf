"""Check a value from a YAML file against a dataclass field's annotation, before construction.

Dataclasses accept anything, and ``TrainingArguments`` only fails (if at all) deep inside
training; a user who writes ``learning_rate: fast`` deserves an error that names the field now.
"""

from __future__ import annotations

import enum
import types
import typing
from typing import Any

from hfplug.errors import ConfigError


def _describe(tp: Any) -> str:
    enums = [arm for arm in typing.get_args(tp) if isinstance(arm, type) and issubclass(arm, enum.Enum)]
    if enums:
        return _describe(enums[0])
    if tp is type(None):
        return "null"
    if isinstance(tp, type):
        if issubclass(tp, enum.Enum):
            return "one of " + ", ".join(repr(member.value) for member in tp)
        return tp.__name__
    return str(tp).replace("typing.", "")


def coerce_value(path: str, value: Any, tp: Any) -> Any:
    """Return ``value`` checked against ``tp`` (numbers written as strings become numbers, as the
    command line would do); raise :class:`ConfigError` naming ``path`` otherwise."""
    ok, result = _coerce(value, tp)
    if not ok:
        raise ConfigError(f"{path}: expected {_describe(tp)}, got {type(value).__name__} {value!r}.")
    return result


def _coerce(value: Any, tp: Any) -> tuple[bool, Any]:
    if tp is Any or tp is typing.Any or tp is object:
        return True, value
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        enums = [arm for arm in args if isinstance(arm, type) and issubclass(arm, enum.Enum)]
        if enums and isinstance(value, str):
            # "SchedulerType | str" means "a SchedulerType, possibly spelled as a string".
            return any(value in {member.value for member in arm} for arm in enums), value
        # Exact matches first, so "str | int" keeps a string a string.
        for arm in args:
            ok, result = _coerce_exact(value, arm)
            if ok:
                return True, result
        for arm in args:
            ok, result = _coerce(value, arm)
            if ok:
                return True, result
        return False, value
    if origin is typing.Literal:
        return (value in args), value
    if origin in (list, tuple, set, typing.Sequence) or tp in (list, tuple):
        if not isinstance(value, list | tuple):
            return False, value
        if args and args[0] is not Ellipsis:
            items = []
            for item in value:
                ok, result = _coerce(item, args[0])
                if not ok:
                    return False, value
                items.append(result)
            return True, items
        return True, list(value)
    if origin is dict or tp is dict:
        return isinstance(value, dict), value
    return _coerce_scalar(value, tp)


def _coerce_exact(value: Any, tp: Any) -> tuple[bool, Any]:
    if tp is type(None):
        return value is None, value
    if tp in (bool, int, float, str):
        exact = type(value) is tp or (tp is float and type(value) is int)
        return exact, (float(value) if exact and tp is float else value)
    return False, value


def _coerce_scalar(value: Any, tp: Any) -> tuple[bool, Any]:
    if tp is type(None):
        return value is None, value
    if tp is bool:
        if isinstance(value, bool):
            return True, value
        if isinstance(value, str) and value.lower() in {"true", "false"}:
            return True, value.lower() == "true"
        return False, value
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return True, value
        if isinstance(value, str):
            try:
                return True, int(value)
            except ValueError:
                return False, value
        return False, value
    if tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return True, float(value)
        if isinstance(value, str):  # YAML reads 1e-4 (no dot) as a string
            try:
                return True, float(value)
            except ValueError:
                return False, value
        return False, value
    if tp is str:
        return isinstance(value, str), value
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        if isinstance(value, tp):
            return True, value
        return (value in {member.value for member in tp}), value
    # An annotation we do not model (a class, a callable): let the dataclass judge it.
    return True, value
