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


def _is_judge_sandbox(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return b"--role\0judge" in handle.read()
    except OSError:
        return False


@pytest.fixture
def pool_processes(pool):
    """A callable: how many processes live in the pool's program sandboxes (bwrap, its init, the zygote, runs).

    The judges' sandboxes are left out: a judge process may stay alive between runs of the same row."""

    def count() -> int:
        pids = [p for w in pool._workers if w.process is not None for p in descendants(w.process.pid)]
        return sum(not _is_judge_sandbox(pid) for pid in pids)

    return count
