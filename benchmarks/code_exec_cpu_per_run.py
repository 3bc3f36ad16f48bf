"""CPU time per sandboxed run, summed over every process involved: the caller, the worker, and both
sandboxes (program and judge) with all the processes they fork, against a fresh ``python -I -S`` per
run of the same program and tests (what the throughput benchmark's fastest baseline does). CPU time
depends far less than runs per second on what else the machine is doing, so it compares two versions,
or the pool with the baseline, on a busy machine.

    python benchmarks/code_exec_cpu_per_run.py --runs 300 --workload small      # add(a, b), 3 asserts
    python benchmarks/code_exec_cpu_per_run.py --runs 164 --workload humaneval  # canonical solutions
    python benchmarks/code_exec_cpu_per_run.py --runs 300 --workload pytest     # a parametrized pytest module
    python benchmarks/code_exec_cpu_per_run.py --runs 300 --no-baseline --by-process  # where the pool's CPU goes

Runs are sequential on one worker. The same script runs against an older checkout of the plugin
(importable under the same name, e.g. from that checkout's ``plugins/code_exec`` as the current folder)
to compare versions.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

from hfplug_code_exec.humaneval import load_problems, problem_job
from hfplug_code_exec.pool import ExecutorPool, Job

SMALL_PROGRAM = "def add(a, b):\n    return a + b\n"
SMALL_TEST = (
    "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(-1, 1) == 0\n"
    "    assert candidate(2, 2) == 4\n"
)
PYTEST_PROGRAM = "def mean(values):\n    return sum(values) / len(values)\n"
PYTEST_TEST = (
    "import pytest\nfrom solution import mean\n\n"
    "@pytest.mark.parametrize('values, expected', [([1, 2], 1.5), ([0.1, 0.2], 0.15), ([3], 3)])\n"
    "def test_mean(values, expected):\n    assert mean(values) == pytest.approx(expected)\n\n"
    "def test_empty():\n    with pytest.raises(ZeroDivisionError):\n        mean([])\n"
)
PYTEST_SCRIPT = PYTEST_PROGRAM + (  # the same checks without pytest, which ``-S`` cannot import
    "for values, expected in [([1, 2], 1.5), ([0.1, 0.2], 0.15), ([3], 3)]:\n"
    "    assert abs(mean(values) - expected) <= 1e-6 * abs(expected)\n"
    "try:\n    mean([])\nexcept ZeroDivisionError:\n    pass\nelse:\n    raise AssertionError\n"
)
TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def process_name(pid: int) -> str:
    """What a process of the pool is: the worker, a zygote (program's or judge's, with its reaped runs), bwrap."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            argv = handle.read().split(b"\0")
    except OSError:
        return "?"
    if b"hfplug_code_exec.worker" in argv:
        return "worker"
    if any(arg.endswith(b"zygote.py") for arg in argv):
        return "judge's zygote or process" if b"judge" in argv else "program's zygote (+ its runs, reaped)"
    return os.path.basename(argv[0].decode(errors="replace"))


def cpu_by_process(root: int) -> dict[int, tuple[float, float]]:
    """pid -> (own CPU seconds, CPU seconds of the children it reaped) of ``root`` and every live descendant."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat(int(entry))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = {}, [root]
    while todo:
        pid = todo.pop()
        if (fields := _stat(pid)) is not None:
            own, reaped = (int(fields[11]) + int(fields[12])) / TICKS, (int(fields[13]) + int(fields[14])) / TICKS
            found[pid] = (own, reaped)
        todo.extend(children.get(pid, []))
    return found


def workload(name: str, runs: int) -> tuple[list[Job], list[str]]:
    """The jobs for the pool and the same programs with their tests as scripts for ``python -I -S``."""
    if name == "small":
        return [Job(SMALL_PROGRAM, SMALL_TEST, "add")] * runs, [SMALL_PROGRAM + SMALL_TEST + "check(add)\n"] * runs
    if name == "pytest":
        return [Job(PYTEST_PROGRAM, PYTEST_TEST, test_format="pytest")] * runs, [PYTEST_SCRIPT] * runs
    problems = (load_problems() * (runs // 164 + 1))[:runs]
    jobs = [problem_job(p, p["canonical_solution"]) for p in problems]
    scripts = [p["prompt"] + p["canonical_solution"] + f"\n{p['test']}\ncheck({p['entry_point']})\n" for p in problems]
    return jobs, scripts


def pool_cpu_ms(jobs: list[Job], by_process: bool = False) -> float:
    with ExecutorPool(1) as pool:
        pool.run_many(jobs[:10])  # warm up
        worker = pool._workers[0].process.pid
        processes = cpu_by_process(worker)
        before, own_before = sum(own + reaped for own, reaped in processes.values()), time.process_time()
        for job in jobs:
            result = pool.run(job)
            assert result.all_passed, result
        own_after = time.process_time()
        after = cpu_by_process(worker)
        cpu = sum(own + reaped for own, reaped in after.values()) - before + own_after - own_before
        if by_process:
            print(f"  caller: {1000 * (own_after - own_before) / len(jobs):.2f} ms per run")
            for pid, (own, reaped) in after.items():
                own_then, reaped_then = processes.get(pid, (0.0, 0.0))
                if own > own_then or reaped > reaped_then:
                    own_ms, reaped_ms = (1000 * (own - own_then) / len(jobs), 1000 * (reaped - reaped_then) / len(jobs))
                    print(f"  {process_name(pid)} (pid {pid}): own {own_ms:.2f} ms, reaped {reaped_ms:.2f} ms per run")
    return 1000 * cpu / len(jobs)


def bare_cpu_ms(scripts: list[str]) -> float:
    """A fresh ``python -I -S`` per script, as the throughput benchmark's fastest baseline."""
    before = os.times()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "run.py")
        for script in scripts:
            with open(path, "w") as handle:
                handle.write(script)
            subprocess.run([sys.executable, "-I", "-S", path], capture_output=True, check=True, cwd=folder)
    after = os.times()
    cpu = after.children_user + after.children_system - before.children_user - before.children_system
    return 1000 * cpu / len(scripts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--workload", choices=["small", "humaneval", "pytest"], default="small")
    parser.add_argument("--no-baseline", action="store_true", help="the pool only")
    parser.add_argument("--by-process", action="store_true", help="also the pool's CPU per process, per run")
    args = parser.parse_args()
    jobs, scripts = workload(args.workload, args.runs)
    pool_ms = pool_cpu_ms(jobs, args.by_process)
    line = f"{args.workload}: pool {pool_ms:.2f} ms CPU per run"
    if not args.no_baseline:
        bare_ms = bare_cpu_ms(scripts)
        line += f", python -I -S {bare_ms:.2f} ms: ratio {bare_ms / pool_ms:.2f}x"
    print(f"{line} ({args.runs} runs; load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
