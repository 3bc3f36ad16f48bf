"""Small instances shared by the side-bandit tests."""

from __future__ import annotations

import math

import pytest

INF = math.inf


@pytest.fixture
def revealer_instance():
    """Best arm 0; arm 2 has a low mean and reveals all three arms at std 0.5: C* = 2, c* = (-, 0, 2)."""
    return [1.0, 0.5, 0.0], [[1.0, INF, INF], [INF, 1.0, INF], [0.5, 0.5, 0.5]]


@pytest.fixture
def blind_instance():
    """The best arm sees only arm 1, not itself; arm 3 probes everything at std 0.5: C* = 6.25."""
    return [1.0, 0.7, 0.6, 0.0], [[INF, 1.0, INF, INF], [INF, 1.0, INF, INF], [INF, INF, 1.0, INF], [0.5] * 4]


@pytest.fixture
def exact_instance():
    """Arm 2 reveals arm 1 exactly (std 0) and itself with noise; arm 0 is a standard arm."""
    return [0.8, 0.5, 0.1], [[1.0, INF, INF], [INF, 2.0, INF], [INF, 0.0, 1.0]]
