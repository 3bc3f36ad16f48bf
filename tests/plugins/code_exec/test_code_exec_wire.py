"""The wire format: round trips built-in values, refuses everything else."""

from __future__ import annotations

import json

import pytest
from hfplug_code_exec.sandbox.wire import UnsupportedValue, from_wire, to_wire


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
    for data in ({"x": 1}, {"t": 1, "s": 2}, {"s": [[1]]}, {"d": [[[1], 2]]}):
        with pytest.raises((ValueError, TypeError)):
            from_wire(data)
