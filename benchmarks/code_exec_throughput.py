"""Executions per second: the sandboxed pool vs. a new Python subprocess per run, measured in one run.

1. A small function with 3 tests, ``--runs`` times, ``--workers`` at a time.
2. The 164 HumanEval canonical solutions end to end.

Baselines run the program plus its tests as a script in a fresh interpreter and read the exit
code (what common harnesses do): ``python`` is this environment's interpreter with its site
packages, ``python -I -S`` the fastest possible start. Both get the same parallelism as the pool.

    python benchmarks/code_exec_throughput.py --workers 4 --runs 400   # 4 workers on a 2-core machine
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from hfplug_code_exec.humaneval import load_problems, problem_job
from hfplug_code_exec.pool import ExecutorPool, Job

SMALL_PROGRAM = "def add(a, b):\n    return a + b\n"
SMALL_TEST = (
    "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(-1, 1) == 0\n"
    "    assert candidate(2, 2) == 4\n"
)


def subprocess_run(script: str, flags: list[str]) -> bool:
    """The usual approach: one fresh interpreter per program, judged by its exit code."""
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as handle:
        handle.write(script)
    try:
        done = subprocess.run(
            [sys.executable, *flags, handle.name], capture_output=True, timeout=10, cwd=os.path.dirname(handle.name)
        )
        return done.returncode == 0
    finally:
        os.unlink(handle.name)


def timed(fn, items, workers: int) -> tuple[float, list]:
    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as executor:
        results = list(executor.map(fn, items))
    return time.perf_counter() - started, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4, help="pool size = concurrent baseline subprocesses")
    parser.add_argument("--runs", type=int, default=400)
    args = parser.parse_args()
    baselines = {"python": [], "python -I -S": ["-I", "-S"]}
    rows = []
    with ExecutorPool(args.workers) as pool:
        pool.run_many([Job(SMALL_PROGRAM, SMALL_TEST, "add")] * (2 * args.workers))  # warm up
        jobs = [Job(SMALL_PROGRAM, SMALL_TEST, "add")] * args.runs
        started = time.perf_counter()
        results = pool.run_many(jobs)
        pool_s = time.perf_counter() - started
        assert all(r.all_passed for r in results)
        script = SMALL_PROGRAM + SMALL_TEST + "check(add)\n"
        small_baselines = {}
        for name, flags in baselines.items():
            seconds, ok = timed(lambda _, flags=flags: subprocess_run(script, flags), range(args.runs), args.workers)
            small_baselines[name] = seconds
            assert all(ok), f"baseline {name} failed"
        rows.append(("small function, 3 tests", args.runs, pool_s, small_baselines))

        problems = load_problems()
        he_jobs = [problem_job(p, p["canonical_solution"]) for p in problems]
        started = time.perf_counter()
        he_results = pool.run_many(he_jobs)
        he_pool_s = time.perf_counter() - started
        passed = sum(r.all_passed for r in he_results)
        scripts = [
            p["prompt"] + p["canonical_solution"] + "\n" + p["test"] + f"\ncheck({p['entry_point']})\n"
            for p in problems
        ]
        baseline_times = {}
        for name, flags in baselines.items():
            seconds, ok = timed(lambda s, flags=flags: subprocess_run(s, flags), scripts, args.workers)
            baseline_times[name] = seconds
            assert all(ok), f"baseline {name} failed some canonical solutions"
        rows.append((f"HumanEval canonical ({passed}/164 pass)", len(problems), he_pool_s, baseline_times))
        isolation = pool.isolation
    print(f"\nisolation: {isolation}, workers: {args.workers}, CPUs: {os.cpu_count()}\n")
    print(
        "| workload | runs | pool runs/s (s) | "
        + " | ".join(f"{b} runs/s (s) | ratio vs {b}" for b in baselines)
        + " |"
    )
    print("|---" * (3 + 2 * len(baselines)) + "|")
    for name, runs, pool_s, base in rows:
        cells = [f"{runs / pool_s:.0f} ({pool_s:.2f})"]
        for b in baselines:
            cells += [f"{runs / base[b]:.0f} ({base[b]:.2f})", f"{base[b] / pool_s:.1f}x"]
        print(f"| {name} | {runs} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
