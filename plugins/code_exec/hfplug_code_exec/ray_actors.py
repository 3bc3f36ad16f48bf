"""The two Ray actors of the ``ray`` executor (this module imports ray: only ``executor="ray"`` loads it).

* :class:`SandboxNode`, one per node: today's local :class:`~hfplug_code_exec.pool.ExecutorPool` on that
  node (bubblewrap sandboxes, the same limits), sized from the node's CPUs. A threaded actor: one call
  per job; the jobs of one lease run one after another.
* :class:`SlotLimiter`, one per cluster: the :class:`~hfplug_code_exec.slot_ledger.SlotLedger` that every
  trainer process leases slots from, so one concurrency limit holds for the whole cluster. Callers that
  find no free slot wait in line (first come, first served): a burst larger than the cluster is queued.

Both are named and detached in :data:`NAMESPACE`, so every trainer process finds the same ones, and
sandboxes start once per node rather than once per process; they live until the cluster stops or
:func:`hfplug_code_exec.ray_executor.stop_cluster_pools` ends them.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import threading
import time
from typing import Any

import ray

from hfplug_code_exec.limits import ExecutionLimits
from hfplug_code_exec.pool import ExecutorPool, Job
from hfplug_code_exec.results import ExecutionResult
from hfplug_code_exec.slot_ledger import Lease, SlotLedger

NAMESPACE = "hfplug-code-exec"
LIMITER_NAME = "slot-limiter"
HISTORY = 100_000  # job intervals a node keeps (for the concurrency checks of tests and benchmarks)


def node_actor_name(node_id: str) -> str:
    """The name of the sandbox pool actor of one Ray node."""
    return f"sandbox-node-{node_id}"


@ray.remote(num_cpus=0, max_restarts=0)
class SandboxNode:
    """A local sandbox pool on one Ray node."""

    def __init__(self, workers: int, isolation_level: str) -> None:
        self.pool = ExecutorPool(workers, isolation_level=isolation_level)
        self._lock = threading.Lock()
        self._intervals: collections.deque[tuple[float, float]] = collections.deque(maxlen=HISTORY)
        self._completed = 0
        self._leases: dict[int, tuple[threading.Lock, int]] = {}  # lease id -> (its lock, calls holding or awaiting it)

    def describe(self) -> dict[str, Any]:
        """Node id, slots (sandbox workers) and isolation level: the actor is ready once this answers."""
        return {
            "node_id": ray.get_runtime_context().get_node_id(),
            "slots": self.pool.size,
            "isolation": self.pool.isolation,
        }

    def run(self, job: Job, limits: ExecutionLimits, lease_id: int) -> ExecutionResult:
        """One job on this node's pool (infrastructure failures retried there first, as locally).

        Jobs of one lease run one after another: a trainer sends a lease's next job before the current
        one ends (no idle slot while its answer travels), and the lease still stands for one sandbox.
        """
        with self._lock:
            lease_lock, users = self._leases.get(lease_id, (threading.Lock(), 0))
            self._leases[lease_id] = (lease_lock, users + 1)
        try:
            with lease_lock:
                started = time.monotonic()
                try:
                    return self.pool.run(job, limits)
                finally:
                    with self._lock:
                        self._intervals.append((started, time.monotonic()))
                        self._completed += 1
        finally:
            with self._lock:
                lease_lock, users = self._leases[lease_id]
                if users == 1:
                    del self._leases[lease_id]
                else:
                    self._leases[lease_id] = (lease_lock, users - 1)

    def intervals(self) -> list[tuple[float, float]]:
        """(start, end) of the jobs this node ran, on the machine's monotonic clock."""
        with self._lock:
            return list(self._intervals)

    def completed(self) -> int:
        """How many jobs this node ran to an answer."""
        with self._lock:
            return self._completed


@ray.remote(num_cpus=0, max_restarts=0)
class SlotLimiter:
    """The cluster-wide concurrency limit: slots are leased first come, first served."""

    def __init__(self, limit: int | None) -> None:
        self.ledger = SlotLedger(limit)
        self._changed = asyncio.Condition()
        self._line: collections.deque[int] = collections.deque()
        self._tickets = itertools.count()

    async def register(self, node_id: str, slots: int) -> None:
        async with self._changed:
            self.ledger.register(node_id, slots)
            self._changed.notify_all()

    async def forget(self, node_id: str) -> None:
        async with self._changed:
            self.ledger.forget(node_id)
            self._changed.notify_all()

    async def release(self, lease_ids: list[int]) -> None:
        async with self._changed:
            self.ledger.release(lease_ids)
            self._changed.notify_all()

    async def renew(self, lease_ids: list[int], lease_s: float) -> None:
        async with self._changed:
            self.ledger.renew(lease_ids, lease_s)

    async def acquire(self, want: int, lease_s: float, wait_s: float) -> list[Lease] | None:
        """Wait in line for a free slot, then lease up to ``want``: ``None`` when none came within ``wait_s``
        (the caller asks again: it never holds a pending request it no longer needs for long), ``[]`` when
        the cluster has no node."""
        ticket = next(self._tickets)
        give_up = time.monotonic() + wait_s
        async with self._changed:
            self._line.append(ticket)
            try:
                while True:
                    until_expiry = self.ledger.expire()
                    if not self.ledger.nodes:
                        return []
                    if self._line[0] == ticket and self.ledger.free() > 0:
                        return self.ledger.grant(want, lease_s)
                    if time.monotonic() >= give_up:
                        return None
                    # Leases of a trainer that died end by themselves: wake up for the next expiry.
                    wake = min(1.0, max(0.01, give_up - time.monotonic()))
                    if until_expiry is not None:
                        wake = min(wake, max(0.01, until_expiry))
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), timeout=wake)
            finally:
                self._line.remove(ticket)
                self._changed.notify_all()

    async def stats(self) -> dict[str, Any]:
        """Limit, capacity, leases in use and the most ever in use, registered nodes, waiting callers."""
        async with self._changed:
            self.ledger.expire()
            return {**self.ledger.stats(), "waiting": len(self._line)}
