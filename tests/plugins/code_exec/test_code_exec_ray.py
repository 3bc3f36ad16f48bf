"""``executor="ray"`` on a Ray cluster simulated on this machine (``ray.cluster_utils.Cluster``, loopback only).

One cluster for the module (a head and two worker nodes of one CPU each; starting it takes seconds).
Nodes added for a test are removed in it. Skipped only when Ray cannot start here (the reason says so).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from hfplug_code_exec.cgroup import remove_when_empty
from hfplug_code_exec.errors import ClusterUnavailableError
from hfplug_code_exec.humaneval import load_problems, problem_job
from hfplug_code_exec.pool import Job
from hfplug_code_exec.rewards import unit_tests

from hfplug.testing.ray_cluster import (
    FAST_FAILURE_DETECTION,
    LOOPBACK,
    LOOPBACK_ENV,
    check_loopback,
    loopback_ray_cluster,
)

from .conftest import SHORT_LIMITS, one_step_grpo_args
from .test_code_exec_eval import canonical_generator
from .test_code_exec_infra import orphaned_cgroups

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'hfplug-code-exec[ray]' (make install does)")

from hfplug_code_exec.ray_actors import node_actor_name  # noqa: E402
from hfplug_code_exec.ray_executor import RayExecutor  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.code_exec_harness_agreement import items_for, mutant  # noqa: E402

SLOW = "import time\ndef f(x):\n    time.sleep({s})\n    return x + {d}\n"
CHECK = "def check(candidate):\n    assert candidate(1) == 2\n"


@pytest.fixture(scope="module")
def cluster():
    """A head and two worker nodes of one CPU each (the workers also offer ``code_exec``), loopback only."""
    try:
        with loopback_ray_cluster([{"code_exec": 1}] * 2, system_config=FAST_FAILURE_DETECTION) as started:
            yield started
    finally:
        # The pools of the nodes killed here could not remove their workers' memory cgroups (empty now).
        for folder in orphaned_cgroups():
            remove_when_empty(folder)


@pytest.fixture(scope="module")
def executor(cluster):
    """The default namespace's executor: every node of the cluster, no limit below their slots."""
    return RayExecutor(limits=SHORT_LIMITS)


@contextmanager
def extra_node(cluster, **resources):
    """A node added for one test, with its Ray node id; removed (killed) at the end if still there."""
    node = cluster.add_node(num_cpus=1, node_ip_address=LOOPBACK, resources=resources or None)
    cluster.wait_for_nodes()
    check_loopback(ray)
    try:
        yield node
    finally:
        if node in cluster.worker_nodes:
            cluster.remove_node(node, allow_graceful=False)


def kill_when_busy(actor_of, kill) -> threading.Thread:
    """Run ``kill()`` once the node's pool (``actor_of()``) has finished a job: the batch is under way there."""

    def watch() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if ray.get(actor_of().completed.remote(), timeout=10) >= 1:
                    break
            except ValueError:  # not started yet
                pass
            time.sleep(0.05)
        kill()

    thread = threading.Thread(target=watch)
    thread.start()
    return thread


def slow_jobs(count: int, sleep_s: float) -> tuple[list[Job], list[str]]:
    """Right (even) and wrong (odd) programs that take ``sleep_s`` each, and their expected statuses."""
    jobs = [Job(SLOW.format(s=sleep_s, d=1 + i % 2), CHECK, "f") for i in range(count)]
    return jobs, ["passed" if i % 2 == 0 else "failed" for i in range(count)]


def verdicts(results) -> list[tuple]:
    return [(r.status, r.passed, r.total, r.reason) for r in results]


def test_ray_grades_humaneval_canonical_solutions_and_mutants_as_the_local_pool(executor, pool):
    problems = load_problems()[::2]
    mutants = [(p["task_id"], mutant(p["prompt"] + p["canonical_solution"], seed=i)) for i, p in enumerate(problems)]
    jobs = [problem_job(p, p["canonical_solution"]) for p in problems]
    jobs += [
        Job(item["program"], item["problem"]["test"], item["problem"]["entry_point"], prompt=item["helpers"])
        for item in items_for("humaneval", [m for m in mutants if m[1] is not None])
    ]
    jobs.append(Job("def f(x):\n    while True:\n        pass\n", CHECK, "f"))  # hangs: timed out, as locally
    local = pool.run_many(jobs)
    on_ray = executor.run_many(jobs)
    assert verdicts(on_ray) == verdicts(local)
    assert sum(r.all_passed for r in on_ray[: len(problems)]) == len(problems)
    assert 0 < sum(r.all_passed for r in on_ray[len(problems) : -1]) < len(mutants)  # mutants: mostly caught
    assert on_ray[-1].reason == "timed out"
    assert {r.isolation for r in on_ray} == {"bubblewrap"} and executor.last_batch.infrastructure_failures == 0


def test_the_rewards_and_hfplug_eval_choose_ray_by_option_or_environment(executor, monkeypatch, tmp_path):
    from hfplug_code_exec.cli import write_report

    rows = {"test_list": [["assert add(1, 2) == 3"], ["assert add(1, 2) == 3"]]}
    completions = ["def add(a, b):\n    return a + b\n", "def add(a, b):\n    return a - b\n"]
    prompts = ["Add two numbers."] * 2
    assert unit_tests.with_options(executor="ray")(prompts, completions, **rows) == [1.0, 0.0]
    monkeypatch.setenv("HFPLUG_CODE_EXEC_EXECUTOR", "ray")
    assert unit_tests(prompts, completions, **rows) == [1.0, 0.0]
    with pytest.raises(ValueError, match="unknown executor 'dask'"):
        unit_tests.with_options(executor="dask")
    summary = write_report(
        load_problems()[:3],
        canonical_generator,
        tmp_path,
        "canonical",
        samples=1,
        attempts=1,
        batch_size=8,
        workers=None,
        executor="ray",
    )
    assert summary["isolation"] == "bubblewrap" and summary["pass@1"] == 1.0


def test_a_node_removed_mid_batch_has_its_jobs_resent_and_each_graded_once(cluster, executor):
    jobs, expected = slow_jobs(48, 0.6)
    with extra_node(cluster, code_exec=1) as victim:
        executor.refresh_nodes()
        while victim.node_id not in executor.stats()["nodes"]:  # its pool is up and registered
            time.sleep(0.1)
            executor.refresh_nodes()
        killer = kill_when_busy(
            lambda: ray.get_actor(node_actor_name(victim.node_id), namespace=executor.namespace),
            lambda: cluster.remove_node(victim, allow_graceful=False),
        )
        results = executor.run_many(jobs)
        killer.join()
    assert [r.status for r in results] == expected  # in order, no false pass, none missing
    report = executor.last_batch
    assert report.resent >= 1 and report.nodes_lost == 1  # the node died with jobs on it
    assert report.infrastructure_failures == 0 and sum(r.status == "passed" for r in results) == len(jobs) // 2
    assert victim.node_id not in executor.stats()["nodes"]


def test_a_job_that_cannot_be_run_is_none_and_counted_never_a_zero(cluster, executor, caplog):
    lost_once = RayExecutor(limits=SHORT_LIMITS, infra_retries=0)  # same pools, no second try
    node_id = next(iter(lost_once.stats()["nodes"]))
    pool_actor = ray.get_actor(node_actor_name(node_id), namespace=lost_once.namespace)
    killer = kill_when_busy(lambda: pool_actor, lambda: ray.kill(pool_actor, no_restart=True))
    count = 24
    with caplog.at_level(logging.WARNING, logger="hfplug_code_exec"):
        rewards = unit_tests(
            ["def f(x):\n"] * count,
            ["    import time\n    time.sleep(0.6)\n    return x + 1\n"] * count,
            test=[CHECK] * count,
            entry_point=["f"] * count,
            pool=lost_once,
        )
    killer.join()
    lost = lost_once.last_batch.infrastructure_failures
    assert lost >= 1 and rewards.count(None) == lost and rewards.count(1.0) == count - lost
    assert 0.0 not in rewards
    assert f"{lost} of {count} programs could not be run" in caplog.text
    assert f"{lost} infrastructure failures" in caplog.text


def test_no_node_left_is_a_clear_error_naming_the_cluster_not_a_hang(cluster):
    with pytest.raises(ClusterUnavailableError, match=f"Ray cluster at {cluster.address}.*'gpu_only'"):
        RayExecutor(node_resource="gpu_only", namespace="no-node")
    jobs, _ = slow_jobs(40, 0.6)
    with extra_node(cluster, only_here=1) as victim:
        alone = RayExecutor(limits=SHORT_LIMITS, node_resource="only_here", namespace="one-node")
        killer = kill_when_busy(
            lambda: ray.get_actor(node_actor_name(victim.node_id), namespace="one-node"),
            lambda: cluster.remove_node(victim, allow_graceful=False),
        )
        with pytest.raises(ClusterUnavailableError, match=f"no node of the Ray cluster at {cluster.address}"):
            alone.run_many(jobs)
        killer.join()


DRIVER = """
import json, os, sys, time
from pathlib import Path
import ray
ray.init(address=os.environ["RAY_ADDRESS"], _node_ip_address="127.0.0.1", log_to_driver=False, logging_level="WARNING")
from hfplug_code_exec.limits import ExecutionLimits
from hfplug_code_exec.pool import Job
from hfplug_code_exec.ray_executor import RayExecutor
folder, me, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
executor = RayExecutor(ExecutionLimits(wall_time_s=5), max_concurrency=2, namespace="shared-limit")
(folder / f"ready-{me}").touch()
while not (folder / "go").exists():  # both trainers send at the same moment
    time.sleep(0.02)
program = "import time\\ndef f(x):\\n    time.sleep(0.4)\\n    return x + 1\\n"
started = time.monotonic()
results = executor.run_many([Job(program, "def check(candidate):\\n    assert candidate(1) == 2\\n", "f")] * count)
print(json.dumps({"statuses": [r.status for r in results], "window": [started, time.monotonic()]}))
"""


def most_at_once(intervals: list[tuple[float, float]]) -> int:
    """The most intervals open at one moment (an end before a start at the same instant)."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


def test_two_trainer_processes_share_one_cluster_wide_limit_and_a_burst_is_queued(cluster, tmp_path):
    count = 16  # each: 6 slots on the cluster, but a limit of 2 for everyone together
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    drivers = [
        subprocess.Popen(
            [sys.executable, str(script), str(tmp_path), str(i), str(count)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **LOOPBACK_ENV},
        )
        for i in range(2)
    ]
    deadline = time.monotonic() + 300
    while not all((tmp_path / f"ready-{i}").exists() for i in range(2)):
        assert time.monotonic() < deadline and all(d.poll() is None for d in drivers), [
            d.communicate() for d in drivers
        ]
        time.sleep(0.1)
    (tmp_path / "go").touch()
    outputs = [d.communicate(timeout=300) for d in drivers]
    assert [d.returncode for d in drivers] == [0, 0], outputs
    reports = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    assert [report["statuses"] for report in reports] == [["passed"] * count] * 2  # none dropped
    (start_a, end_a), (start_b, end_b) = (report["window"] for report in reports)
    assert start_a < end_b and start_b < end_a  # both were sending at once: a per-process limit would show
    intervals = []
    for node in [n for n in ray.nodes() if n["Alive"]]:  # the nodes other tests removed are listed dead
        actor = ray.get_actor(node_actor_name(node["NodeID"]), namespace="shared-limit")
        intervals += ray.get(actor.intervals.remote())
    assert len(intervals) == 2 * count
    assert most_at_once(intervals) == 2  # the limit held across both processes, and was reached
    limiter = ray.get_actor("slot-limiter", namespace="shared-limit")
    stats = ray.get(limiter.stats.remote())
    assert stats["max_in_use"] == 2 and stats["in_use"] == 0


def test_a_trl_grpo_step_with_the_ray_executor_gets_the_local_rewards(
    executor, pool, tiny_model, tiny_tokenizer, tmp_path
):
    import torch
    from datasets import Dataset
    from hfplug_code_exec.executors import shared_executor
    from trl import GRPOTrainer

    torch.set_num_threads(1)
    on_ray = unit_tests.with_options(executor="ray")
    seen = []

    def unit_tests_on_ray(prompts, completions, **columns):
        rewards = on_ray(prompts, completions, **columns)  # what trl receives
        seen.append((rewards, unit_tests(prompts, completions, pool=pool, **columns)))
        return rewards

    unit_tests_on_ray.__name__ = "unit_tests"
    problems = load_problems()[:2]
    rows = [{"prompt": p["prompt"], "test": p["test"], "entry_point": p["entry_point"]} for p in problems]
    args = one_step_grpo_args(tmp_path)
    ray_jobs = shared_executor("ray").totals.jobs
    GRPOTrainer(
        model=tiny_model,
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tiny_tokenizer,
        reward_funcs=[unit_tests_on_ray],
    ).train()
    assert seen and all(ray_rewards == local_rewards for ray_rewards, local_rewards in seen)
    assert shared_executor("ray").totals.jobs - ray_jobs == sum(len(r) for r, _ in seen) > 0  # they ran on Ray
