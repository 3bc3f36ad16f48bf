"""``executor="ray"``: the sandbox pools of a Ray cluster, behind one cluster-wide concurrency limit.

Each node with CPUs (and the custom resource ``node_resource``, when given) runs its own local
sandbox pool in a :class:`~hfplug_code_exec.ray_actors.SandboxNode` actor pinned to it, sized
``workers_per_cpu`` x its CPUs. A trainer process leases slots from the cluster's one
:class:`~hfplug_code_exec.ray_actors.SlotLimiter`, sends each job to the node its slot is on, and
keeps the slot for its next job while it has one (a slot changes hands between batches, not between
jobs: no round trip to the limiter per job), then gives it back; results come back in the order of the jobs.

Faults, with nothing graded wrong:

* a node lost mid-batch (its actor dies, or does not answer within the job's lease): its jobs are
  sent to other nodes, each result is recorded once (one slot per job, the first answer kept);
* a job that could not be run ``infra_retries + 1`` times is an ``infrastructure_error`` result
  (the rewards give ``None``; trl drops the sample), never a pass or a 0, and is counted in the logs;
* no node left: :class:`~hfplug_code_exec.errors.ClusterUnavailableError` naming the cluster;
* more jobs than slots: they wait for slots (queued, not dropped); a hung program times out in its
  node's pool, as locally.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hfplug_code_exec.errors import ClusterUnavailableError
from hfplug_code_exec.limits import ExecutionLimits
from hfplug_code_exec.pool import Job
from hfplug_code_exec.results import ExecutionResult

logger = logging.getLogger("hfplug_code_exec.ray")

NODE_START_TIMEOUT_S = 120.0
# A node's pool retries a broken worker twice, each try bounded by the program's wall time + 60 s.
NODE_TRIES = 3
HEAD_NODE_RESOURCE = "node:__internal_head__"  # what Ray gives the head node only
MAX_LEASE_REQUEST = 256  # slots asked for at once: larger batches ask again as results come back
PIPELINE_DEPTH = 2  # jobs sent per lease before the first answer: the next one waits at the node, not on the way
ASK_WAIT_S = 0.5  # the longest a request for slots waits in the limiter before it is asked again


@dataclass
class BatchReport:
    """What happened to one ``run_many`` call: jobs, jobs resent after a node was lost, infrastructure failures."""

    jobs: int = 0
    resent: int = 0
    infrastructure_failures: int = 0
    nodes_lost: int = 0


def import_ray() -> Any:
    """``ray``, or an error that says how to install it."""
    try:
        import ray
    except ImportError as error:
        raise ImportError(
            "executor='ray' needs Ray: pip install 'hfplug-code-exec[ray]' (on the trainer and every node)"
        ) from error
    return ray


class RayExecutor:
    """Runs jobs on the sandbox pools of a Ray cluster; same ``run`` / ``run_many`` as :class:`ExecutorPool`.

    ``address``: as ``ray.init(address=...)`` (``None`` reads ``RAY_ADDRESS``, else starts Ray on this
    machine); a process already connected to Ray keeps its connection. ``max_concurrency``: jobs running
    at once on the whole cluster, for every trainer process together (default: every node's slots); the
    first process sets it, a later one asking for another value is refused. ``workers_per_cpu``:
    sandbox workers per CPU of a node (2 as the local pool: much of a run waits on the kernel).
    ``node_resource``: only nodes offering this custom Ray resource run code (e.g. ``code_exec`` from
    ``ray start --resources='{"code_exec": 1}'``). ``namespace``: the Ray namespace of the shared actors
    (processes in one namespace share pools and limit). ``infra_retries``: how many times a job whose
    node was lost is sent again before it is an ``infrastructure_error``.
    """

    def __init__(
        self,
        address: str | None = None,
        limits: ExecutionLimits | None = None,
        *,
        max_concurrency: int | None = None,
        workers_per_cpu: float = 2.0,
        node_resource: str | None = None,
        namespace: str | None = None,
        isolation_level: str = "auto",
        infra_retries: int = 2,
        node_start_timeout_s: float = NODE_START_TIMEOUT_S,
    ) -> None:
        ray = import_ray()
        from hfplug_code_exec import ray_actors

        if not ray.is_initialized():
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
        self._ray = ray
        self._actors = ray_actors
        self.limits = limits or ExecutionLimits()
        self.workers_per_cpu = workers_per_cpu
        self.node_resource = node_resource
        self.namespace = namespace or ray_actors.NAMESPACE
        self.isolation_level = isolation_level
        self.infra_retries = infra_retries
        self.node_start_timeout_s = node_start_timeout_s
        self.cluster = ray.get_runtime_context().gcs_address
        self.isolation = ""
        self.last_batch = BatchReport()
        self.totals = BatchReport()
        self._nodes: dict[str, Any] = {}  # node id -> actor handle of a node whose pool is up
        self._starting: dict[str, tuple[Any, Any]] = {}  # node id -> (actor, its describe() reference)
        self._start_errors: dict[str, str] = {}
        self._lost: set[str] = set()  # nodes seen failing: leases granted there before the news go back
        self._lock = threading.Lock()  # one batch at a time per executor (ray.wait loops are not shared)
        self._closed = False
        # The limiter lives on the head node, which outlives every other (a lost worker node must not take it along).
        self._limiter = ray_actors.SlotLimiter.options(
            name=ray_actors.LIMITER_NAME,
            namespace=self.namespace,
            lifetime="detached",
            get_if_exists=True,
            resources={HEAD_NODE_RESOURCE: 0.001},
        ).remote(max_concurrency)
        cluster_limit = ray.get(self._limiter.stats.remote())["limit"]
        if max_concurrency is not None and cluster_limit != max_concurrency:
            raise ValueError(
                f"the Ray cluster at {self.cluster} already has a code execution limit of {cluster_limit} "
                f"concurrent jobs (namespace {self.namespace!r}); this process asked for {max_concurrency}. "
                "Every trainer process must ask for the same limit (or use another namespace)."
            )
        self.refresh_nodes(wait=True)

    # -- nodes -----------------------------------------------------------------------------------

    def _code_nodes(self) -> dict[str, float]:
        """Alive nodes that may run code, with their CPU counts."""
        found = {}
        for node in self._ray.nodes():
            resources = node.get("Resources", {})
            if not node.get("Alive") or resources.get("CPU", 0) <= 0:
                continue
            if self.node_resource and resources.get(self.node_resource, 0) <= 0:
                continue
            found[node["NodeID"]] = resources["CPU"]
        return found

    def refresh_nodes(self, wait: bool = False) -> None:
        """Start (or find) the pool of every node that may run code and register the ready ones.

        ``wait``: when no pool is up yet, wait for the first (up to ``node_start_timeout_s``), and raise
        :class:`ClusterUnavailableError` if none comes up.
        """
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        for node_id, cpus in self._code_nodes().items():
            if node_id in self._nodes or node_id in self._starting:
                continue
            workers = max(1, int(cpus * self.workers_per_cpu))
            actor = self._actors.SandboxNode.options(
                name=self._actors.node_actor_name(node_id),
                namespace=self.namespace,
                lifetime="detached",
                get_if_exists=True,
                max_concurrency=PIPELINE_DEPTH * workers + 2,
                scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False),
                resources={self.node_resource: 0.001} if self.node_resource else None,
            ).remote(workers, self.isolation_level)
            self._starting[node_id] = (actor, actor.describe.remote())
        self._collect_started()
        deadline = time.monotonic() + self.node_start_timeout_s
        while wait and not self._nodes and self._starting and time.monotonic() < deadline:
            refs = [ref for _, ref in self._starting.values()]
            self._ray.wait(refs, num_returns=1, timeout=max(0.0, deadline - time.monotonic()))
            self._collect_started()
        if wait and not self._nodes:
            raise self._unavailable()

    def _collect_started(self) -> None:
        """Register the pools that came up since the last look; drop those that failed to start."""
        if not self._starting:
            return
        refs = {ref: node_id for node_id, (_, ref) in self._starting.items()}
        ready, _ = self._ray.wait(list(refs), num_returns=len(refs), timeout=0)
        for ref in ready:
            node_id = refs[ref]
            actor, _ = self._starting.pop(node_id)
            try:
                described = self._ray.get(ref)
            except Exception as error:  # the node died or its sandbox could not start: not this batch's fault
                self._start_errors[node_id] = f"{type(error).__name__}: {error}"
                logger.warning("code execution node %s did not start its sandbox pool: %s", node_id, error)
                continue
            self._ray.get(self._limiter.register.remote(node_id, described["slots"]))
            self._nodes[node_id] = actor
            self._lost.discard(node_id)
            self.isolation = self.isolation or described["isolation"]

    def _unavailable(self) -> ClusterUnavailableError:
        resource = f" with the resource {self.node_resource!r}" if self.node_resource else ""
        errors = "; ".join(f"node {n}: {e}" for n, e in self._start_errors.items())
        return ClusterUnavailableError(
            f"no node of the Ray cluster at {self.cluster} can run code: "
            f"{len(self._code_nodes())} alive node(s) with CPUs{resource}, "
            f"{len(self._starting)} still starting"
            + (f" after {self.node_start_timeout_s:g} s" if self._starting else "")
            + (f"; {errors}" if errors else "")
        )

    def _node(self, node_id: str) -> Any:
        """The pool actor of a node registered by any trainer process."""
        if node_id not in self._nodes:
            self._nodes[node_id] = self._ray.get_actor(self._actors.node_actor_name(node_id), namespace=self.namespace)
        return self._nodes[node_id]

    def _lose(self, node_id: str) -> None:
        """A node that did not answer: no more jobs go there (until it is found alive again)."""
        self._lost.add(node_id)
        if self._nodes.pop(node_id, None) is not None:
            self.last_batch.nodes_lost += 1
            logger.warning("code execution node %s of the Ray cluster at %s was lost", node_id, self.cluster)
        self._limiter.forget.remote(node_id)

    # -- jobs ------------------------------------------------------------------------------------

    @property
    def size(self) -> int:
        """Slots (concurrent jobs) of the nodes this process knows."""
        return self._ray.get(self._limiter.stats.remote())["capacity"]

    def stats(self) -> dict[str, Any]:
        """The cluster-wide limiter's view: limit, capacity, slots in use and the most ever in use."""
        return self._ray.get(self._limiter.stats.remote())

    def run(self, job: Job, limits: ExecutionLimits | None = None) -> ExecutionResult:
        """Run one job on the cluster."""
        return self.run_many([job], limits)[0]

    def run_many(self, jobs: Sequence[Job], limits: ExecutionLimits | None = None) -> list[ExecutionResult]:
        """Run jobs on the cluster's nodes within the cluster-wide limit; results come back in order."""
        if self._closed:
            raise RuntimeError("the Ray executor is closed")
        if not jobs:
            return []
        with self._lock:
            return _Batch(self, list(jobs), limits or self.limits).run()

    def connected(self) -> bool:
        """Whether this process is still connected to this executor's cluster (not shut down, not another one)."""
        ray = self._ray
        return not self._closed and ray.is_initialized() and ray.get_runtime_context().gcs_address == self.cluster

    def close(self) -> None:
        """Stop sending jobs (the cluster's pools stay up for other processes: see :func:`stop_cluster_pools`)."""
        self._closed = True

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Batch:
    """One ``run_many``: lease slots, send jobs, collect answers, resend the jobs of lost nodes."""

    def __init__(self, executor: RayExecutor, jobs: list[Job], limits: ExecutionLimits) -> None:
        self.ex = executor
        self.ray = executor._ray
        self.jobs = jobs
        self.limits = limits
        # How long a slot is held at most: the node's own tries of the job, plus sending it.
        self.lease_s = NODE_TRIES * (limits.wall_time_s + 60.0) + 30.0
        self.results: list[ExecutionResult | None] = [None] * len(jobs)
        self.tries = [0] * len(jobs)
        self.todo: deque[int] = deque(range(len(jobs)))
        self.running: dict[Any, tuple[int, Any, float]] = {}  # result ref -> (job index, lease, deadline)
        self.per_lease: dict[int, int] = {}  # lease id -> its jobs sent and not yet answered
        self.asking: Any = None  # the pending acquire() of the limiter
        self.to_release: list[int] = []
        self.to_renew: list[int] = []
        self.error: BaseException | None = None
        executor.last_batch = self.report = BatchReport(jobs=len(jobs))

    def run(self) -> list[ExecutionResult]:
        self.ex.refresh_nodes(wait=True)
        try:
            while self.todo or self.running:
                if self.todo and self.asking is None and self.error is None:
                    want = min(len(self.todo), MAX_LEASE_REQUEST)
                    self.asking = self.ex._limiter.acquire.remote(want, self.lease_s, ASK_WAIT_S)
                self._wait_and_handle()
                if self.error is not None:
                    self.todo.clear()  # send nothing more; the running jobs are still collected
            if self.asking is not None:  # a request sent before the last jobs were: give back what it gets
                self._leased(self.asking)
        finally:
            self._flush_releases()
        if self.error is not None:
            raise self.error
        self._log()
        if any(result is None for result in self.results):  # a bug, never a grade
            raise RuntimeError("the Ray executor ended a batch with jobs that have no result")
        return list(self.results)

    def _wait_and_handle(self) -> None:
        refs = list(self.running)
        if self.asking is not None:
            refs.append(self.asking)
        refs += [ref for _, ref in self.ex._starting.values()]
        now = time.monotonic()
        timeout = min((deadline for _, _, deadline in self.running.values()), default=now + 5.0) - now
        ready, _ = self.ray.wait(refs, num_returns=1, timeout=max(0.0, min(timeout, 5.0)))
        if ready:  # take every answer that is already there, not one per round
            ready, _ = self.ray.wait(refs, num_returns=len(refs), timeout=0)
        for ref in ready:
            if ref == self.asking:
                self._leased(ref)
            elif ref in self.running:
                self._answered(ref)
        self.ex._collect_started()
        self._expire_overdue()
        self._flush_releases()

    def _leased(self, ref: Any) -> None:
        self.asking = None
        leases = self.ray.get(ref)
        if leases is None:  # no slot came free in time: asked again in the next round
            return
        if not leases:  # the limiter knows no node (all lost): look for pools once more, else say so
            self.ex._nodes.clear()
            self.ex.refresh_nodes(wait=True)
            return
        for lease in leases:
            for _ in range(PIPELINE_DEPTH):
                self._send_next(lease)

    def _send_next(self, lease: Any) -> None:
        """The next job to the lease's node; the lease goes back once it has no job left (or its node is lost)."""
        sent = self.per_lease.get(lease.lease_id, 0)
        if not self.todo or self.error is not None or lease.node_id in self.ex._lost:
            if sent == 0:
                self.per_lease.pop(lease.lease_id, None)
                self.to_release.append(lease.lease_id)
            return
        index = self.todo.popleft()
        self.tries[index] += 1
        try:
            node = self.ex._node(lease.node_id)
        except ValueError:  # its actor is gone already: the node was lost
            self._failed(index, lease, f"node {lease.node_id} has no sandbox pool")
            return
        self.per_lease[lease.lease_id] = sent + 1
        # It may wait behind the lease's other job at the node: its deadline allows for both.
        deadline = time.monotonic() + PIPELINE_DEPTH * self.lease_s
        self.running[node.run.remote(self.jobs[index], self.limits, lease.lease_id)] = (index, lease, deadline)

    def _done(self, lease: Any) -> None:
        """One job of the lease answered (or lost)."""
        self.per_lease[lease.lease_id] = self.per_lease.get(lease.lease_id, 1) - 1

    def _answered(self, ref: Any) -> None:
        index, lease, _ = self.running.pop(ref)
        self._done(lease)
        try:
            result = self.ray.get(ref)
        except self.ray.exceptions.RayTaskError as error:  # the job raised: bad tests, as the local pool raises
            self.error = self.error or (error.cause if isinstance(error.cause, Exception) else error)
            self._send_next(lease)  # sends nothing more: gives the lease back once its jobs are answered
            return
        except (self.ray.exceptions.RayActorError, self.ray.exceptions.ObjectLostError) as error:
            self._failed(index, lease, f"{type(error).__name__}")
            return
        if result.status == "infrastructure_error":
            self.report.infrastructure_failures += 1
        self.results[index] = result
        if self.todo and lease.node_id not in self.ex._lost:
            self.to_renew.append(lease.lease_id)  # kept for the next job: its time starts again
        self._send_next(lease)

    def _failed(self, index: int, lease: Any, why: str) -> None:
        """The job's node was lost: send the job elsewhere, or after its last try report it as such."""
        self.ex._lose(lease.node_id)
        if self.tries[index] <= self.ex.infra_retries:
            self.report.resent += 1
            self.todo.appendleft(index)
            return
        self.report.infrastructure_failures += 1
        self.results[index] = ExecutionResult(
            status="infrastructure_error",
            reason="infrastructure",
            isolation=self.ex.isolation,
            feedback=f"The Ray executor lost this job's node {self.tries[index]} times ({why}); "
            "this is not the program's fault.",
            attempts=self.tries[index],
        )

    def _expire_overdue(self) -> None:
        """A job past its lease without an answer: its node is hung or gone; its slot ends with the lease."""
        now = time.monotonic()
        for ref in [r for r, (_, _, deadline) in self.running.items() if deadline <= now]:
            index, lease, _ = self.running.pop(ref)
            self._done(lease)
            with contextlib.suppress(Exception):  # best effort: the node may be gone
                self.ray.cancel(ref)
            self._failed(index, lease, "no answer within its lease")

    def _flush_releases(self) -> None:
        if self.to_renew:
            self.ex._limiter.renew.remote(self.to_renew, self.lease_s)
            self.to_renew = []
        if self.to_release:
            self.ex._limiter.release.remote(self.to_release)
            self.to_release = []

    def _log(self) -> None:
        report, totals = self.report, self.ex.totals
        totals.jobs += report.jobs
        totals.resent += report.resent
        totals.infrastructure_failures += report.infrastructure_failures
        totals.nodes_lost += report.nodes_lost
        if report.resent or report.infrastructure_failures:
            logger.warning(
                "Ray code execution: %d of %d jobs resent after a node was lost, %d infrastructure failures "
                "(reward None, not scored); %d nodes lost",
                report.resent,
                report.jobs,
                report.infrastructure_failures,
                report.nodes_lost,
            )


def stop_cluster_pools(namespace: str | None = None) -> int:
    """End the sandbox pools and the limiter of a namespace on the connected cluster; returns how many actors."""
    ray = import_ray()
    from hfplug_code_exec import ray_actors

    namespace = namespace or ray_actors.NAMESPACE
    names = [a["name"] for a in ray.util.list_named_actors(all_namespaces=True) if a["namespace"] == namespace]
    for name in names:
        ray.kill(ray.get_actor(name, namespace=namespace))
    return len(names)


_shared_lock = threading.Lock()
_shared: dict[str | None, RayExecutor] = {}


def shared_ray_executor(address: str | None = None) -> RayExecutor:
    """The process-wide Ray executor of the rewards: limits from ``HFPLUG_CODE_EXEC_WALL_TIME_S``, the
    cluster-wide limit from ``HFPLUG_CODE_EXEC_MAX_CONCURRENCY`` and the nodes' custom resource from
    ``HFPLUG_CODE_EXEC_RAY_RESOURCE``, when set. Made again once this process is connected to another cluster."""
    import os

    from hfplug_code_exec.pool import shared_limits

    with _shared_lock:
        if address not in _shared or not _shared[address].connected():
            _shared[address] = RayExecutor(
                address,
                shared_limits(),
                max_concurrency=int(os.environ.get("HFPLUG_CODE_EXEC_MAX_CONCURRENCY", "0")) or None,
                node_resource=os.environ.get("HFPLUG_CODE_EXEC_RAY_RESOURCE") or None,
            )
        return _shared[address]
