"""Infrastructure failures are retried and reported as such, never scored as the program's result."""

from __future__ import annotations

import os
import signal
import threading
import time

from hfplug_code_exec.cgroup import candidate_folders
from hfplug_code_exec.limits import ExecutionLimits
from hfplug_code_exec.pool import ExecutorPool, Job
from hfplug_code_exec.rewards import unit_tests

SLOW_GOOD = "import time\ndef f(x):\n    time.sleep(0.6)\n    return x + 1\n"
TEST_ONE = "def check(candidate):\n    assert candidate(1) == 2\n"


def kill_busy_workers_soon(executor: ExecutorPool, times: int) -> threading.Thread:
    """Kill the judge process of whichever worker is busy, ``times`` times (simulates a crashed worker)."""

    def killer() -> None:
        for _ in range(times):
            time.sleep(0.3)
            busy = [w for w in executor._workers if w.process is not None and w not in list(executor._free.queue)]
            for worker in busy:
                os.kill(worker.process.pid, signal.SIGKILL)

    thread = threading.Thread(target=killer)
    thread.start()
    return thread


def orphaned_cgroups() -> list[str]:
    """Worker cgroups whose worker process is gone (they should have been removed)."""
    folders = [f for f, _ in candidate_folders("")]
    found = []
    for parent in folders:
        for child in parent.glob("hfplug-code-exec-*") if parent.is_dir() else []:
            if not os.path.exists(f"/proc/{child.name.rsplit('-', 1)[1]}"):
                found.append(str(child))
    return found


def test_a_crashed_worker_is_retried_and_the_run_counts_once():
    with ExecutorPool(1, ExecutionLimits(wall_time_s=5)) as executor:
        killer = kill_busy_workers_soon(executor, 1)
        result = executor.run(Job(SLOW_GOOD, TEST_ONE, "f"))
        killer.join()
        assert result.status == "passed" and result.attempts == 2
        assert executor.run(Job(SLOW_GOOD, TEST_ONE, "f")).attempts == 1  # the restarted worker is healthy
    assert orphaned_cgroups() == []


def test_persistent_infrastructure_failure_is_reported_not_scored():
    with ExecutorPool(1, ExecutionLimits(wall_time_s=5), infra_retries=0) as executor:
        killer = kill_busy_workers_soon(executor, 1)
        result = executor.run(Job(SLOW_GOOD, TEST_ONE, "f"))
        killer.join()
        assert result.status == "infrastructure_error" and result.reason == "infrastructure"
        assert "not the program's fault" in result.feedback
        killer = kill_busy_workers_soon(executor, 1)
        rewards = unit_tests(
            ["def f(x):\n"],
            ["    import time\n    time.sleep(0.6)\n    return x + 1\n"],
            test=[TEST_ONE],
            entry_point=["f"],
            pool=executor,
        )
        killer.join()
        assert rewards == [None]
    assert orphaned_cgroups() == []


def test_unsandboxed_level_works_only_with_the_opt_out():
    with ExecutorPool(1, ExecutionLimits(wall_time_s=2), isolation_level="none", allow_unsandboxed=True) as executor:
        assert executor.isolation == "none"
        good, loop = executor.run_many(
            [
                Job("def f(x):\n    return x + 1\n", TEST_ONE, "f"),
                Job("def f(x):\n    while True:\n        pass\n", TEST_ONE, "f"),
            ]
        )
        assert (good.status, good.isolation) == ("passed", "none")
        assert (loop.status, loop.reason) == ("failed", "timed out")
