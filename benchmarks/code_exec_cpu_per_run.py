"""CPU time per sandboxed run, summed over every process involved: the caller, the worker, and both
sandboxes (program and judge) with all the processes they fork. Unlike runs per second this does
not depend on what else the machine is doing, so it compares two versions on a busy machine.

    python benchmarks/code_exec_cpu_per_run.py --runs 300

Runs are sequential on one worker. The same script runs against an older checkout of the plugin
(importable under the same name) to compare the cost of isolating the judge.
"""

from __future__ import annotations

import argparse
import os
import time

from hfplug_code_exec.pool import ExecutorPool, Job

SMALL_PROGRAM = "def add(a, b):\n    return a + b\n"
SMALL_TEST = (
    "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(-1, 1) == 0\n"
    "    assert candidate(2, 2) == 4\n"
)
TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def tree_cpu_s(root: int) -> float:
    """CPU seconds of ``root`` and every live descendant, each with the CPU of the children it reaped."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat(int(entry))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry))
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        if (fields := _stat(pid)) is not None:
            total += sum(int(f) for f in fields[11:15]) / TICKS  # utime, stime, cutime, cstime
        todo.extend(children.get(pid, []))
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    with ExecutorPool(1) as pool:
        job = Job(SMALL_PROGRAM, SMALL_TEST, "add")
        pool.run_many([job] * 10)  # warm up
        worker = pool._workers[0].process.pid
        before, own_before, started = tree_cpu_s(worker), time.process_time(), time.perf_counter()
        for _ in range(args.runs):
            assert pool.run(job).all_passed
        wall = time.perf_counter() - started
        cpu = tree_cpu_s(worker) - before + time.process_time() - own_before
    print(f"CPU per run: {1000 * cpu / args.runs:.2f} ms (wall {1000 * wall / args.runs:.1f} ms) over {args.runs} runs")


if __name__ == "__main__":
    main()
