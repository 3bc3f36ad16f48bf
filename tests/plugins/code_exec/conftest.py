"""Shared fixtures for the code_exec tests: one sandboxed pool for the whole session (it is the slow part)."""

from __future__ import annotations

import os

import pytest
from hfplug_code_exec.limits import ExecutionLimits
from hfplug_code_exec.pool import ExecutorPool

SHORT_LIMITS = ExecutionLimits(wall_time_s=3.0, cpu_time_s=3.0, memory_mb=512, max_processes=16)


@pytest.fixture(scope="session")
def pool():
    with ExecutorPool(2, SHORT_LIMITS, isolation_level="bubblewrap") as executor:
        yield executor


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc), to check that runs leave nothing behind."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    parent = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


@pytest.fixture
def pool_processes(pool):
    """A callable: how many processes live under the pool's workers (bwrap, its init, the zygote)."""

    def count() -> int:
        return sum(len(descendants(w.process.pid)) for w in pool._workers if w.process is not None)

    return count
