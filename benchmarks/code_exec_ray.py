"""The ``ray`` executor against the local sandbox pool on the same cores: throughput, latency, scaling.

Starts a Ray cluster on this machine (``ray.cluster_utils.Cluster``, loopback only): a head that runs
no code (the benchmark's driver) and 1, 2, 3 worker nodes of ``--cpus-per-node`` CPUs, each with its
own sandbox pool of 2 workers per CPU. For each node count, alternating, ``--rounds`` times:

* executions/s on a GRPO-sized batch (``--jobs``, HumanEval canonical solutions repeated) through Ray,
  and through one local ``ExecutorPool`` with as many workers as the Ray nodes have together;
* latency of a 1-job batch (median of ``--single`` batches, one after another) through each, and the
  difference: what Ray adds to one job.

    python benchmarks/code_exec_ray.py --nodes 1 2 3 --jobs 512 --rounds 2
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # Ray's processes bind 127.0.0.1
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import ray
from hfplug_code_exec.humaneval import load_problems, problem_job
from hfplug_code_exec.pool import ExecutorPool, Job
from hfplug_code_exec.ray_executor import RayExecutor
from ray.cluster_utils import Cluster

LOOPBACK = "127.0.0.1"


def batch_rate(executor, jobs: list[Job]) -> tuple[float, int]:
    """(executions/s, passed) for one batch."""
    started = time.perf_counter()
    results = executor.run_many(jobs)
    return len(jobs) / (time.perf_counter() - started), sum(r.all_passed for r in results)


def single_latency(executor, job: Job, times: int) -> float:
    """Median seconds of a batch of one job."""
    seconds = []
    for _ in range(times):
        started = time.perf_counter()
        executor.run_many([job])
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[1, 2, 3], help="Ray worker node counts, ascending")
    parser.add_argument("--cpus-per-node", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=512, help="batch size (a GRPO step's completions)")
    parser.add_argument("--single", type=int, default=30, help="1-job batches timed for the latency")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    problems = load_problems()
    canonical = [problem_job(p, p["canonical_solution"]) for p in problems]
    jobs = [canonical[i % len(canonical)] for i in range(args.jobs)]
    one = canonical[0]

    cluster = Cluster(
        initialize_head=True, head_node_args={"num_cpus": 0, "node_ip_address": LOOPBACK, "include_dashboard": False}
    )
    ray.init(address=cluster.address, log_to_driver=False, logging_level="WARNING", _node_ip_address=LOOPBACK)
    print(f"# machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    print(
        "| Ray nodes | workers | round | local exec/s | Ray exec/s | Ray / local "
        "| local 1-job ms | Ray 1-job ms | Ray adds | load |"
    )
    print("|---" * 10 + "|")
    executor = None
    try:
        for count in args.nodes:
            while len(cluster.worker_nodes) < count:
                cluster.add_node(num_cpus=args.cpus_per_node, node_ip_address=LOOPBACK)
            cluster.wait_for_nodes()
            if executor is None:
                executor = RayExecutor()
            while len(executor.stats()["nodes"]) < count:  # every node's pool up and registered
                executor.refresh_nodes()
                time.sleep(0.2)
            workers = executor.size
            with ExecutorPool(workers) as local:
                batch_rate(local, canonical[: 2 * workers])  # warm both: compiled tests, started judges
                batch_rate(executor, canonical[: 2 * workers])
                for round_index in range(1, args.rounds + 1):
                    local_rate, local_passed = batch_rate(local, jobs)
                    ray_rate, ray_passed = batch_rate(executor, jobs)
                    assert local_passed == ray_passed == len(jobs), (local_passed, ray_passed)
                    local_ms = 1000 * single_latency(local, one, args.single)
                    ray_ms = 1000 * single_latency(executor, one, args.single)
                    print(
                        f"| {count} | {workers} | {round_index} | {local_rate:.1f} | {ray_rate:.1f} | "
                        f"{ray_rate / local_rate:.2f}x | {local_ms:.1f} | {ray_ms:.1f} | {ray_ms - local_ms:+.1f} ms "
                        f"| {os.getloadavg()[0]:.1f} |",
                        flush=True,
                    )
    finally:
        ray.shutdown()
        cluster.shutdown()


if __name__ == "__main__":
    main()
