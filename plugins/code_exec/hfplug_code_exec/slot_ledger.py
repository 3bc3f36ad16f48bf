"""The bookkeeping behind the ``ray`` executor's one cluster-wide concurrency limit (no Ray import here).

A *slot* is one sandbox worker of one node. The ledger knows how many slots each node has, which are
leased, and to whom nothing else: a trainer process leases slots before it sends jobs, and gives
each back when the job's result arrives. Every trainer process asks the same ledger (it lives in one
named Ray actor), so the number of jobs running on the cluster never exceeds ``limit`` whatever the
number of processes sending. A lease ends by itself after its time (a trainer that died while
holding slots cannot leak them), and a lost node takes its leases with it.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Lease:
    """One leased slot: ``lease_id`` to give back, ``node_id`` to send the job to."""

    lease_id: int
    node_id: str


class SlotLedger:
    """Slots per node, leases and the cluster-wide limit (``None``: the sum of every node's slots)."""

    def __init__(self, limit: int | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        if limit is not None and limit < 1:
            raise ValueError(f"the cluster-wide limit must be at least 1 concurrent job, got {limit}")
        self.limit = limit
        self._clock = clock
        self._slots: dict[str, int] = {}
        self._leases: dict[int, tuple[str, float]] = {}  # lease id -> (node, expiry)
        # Lease ids unique beyond this ledger: a node keys its per-lease queue on them, and a limiter made
        # again (after the head restarted) must not hand out the ids of leases still running.
        self._ids = itertools.count(uuid.uuid4().int >> 64)
        self.max_in_use = 0  # the most jobs ever leased at once (what tests check the limit with)
        self.granted = 0

    @property
    def nodes(self) -> dict[str, int]:
        """Slots of every registered node."""
        return dict(self._slots)

    @property
    def capacity(self) -> int:
        """How many jobs may run at once on the cluster now."""
        total = sum(self._slots.values())
        return total if self.limit is None else min(self.limit, total)

    @property
    def in_use(self) -> int:
        return len(self._leases)

    def register(self, node_id: str, slots: int) -> None:
        """A node whose pool is up, with ``slots`` workers (registering again replaces the count)."""
        if slots < 1:
            raise ValueError(f"node {node_id} has no sandbox worker")
        self._slots[node_id] = slots

    def forget(self, node_id: str) -> None:
        """A node that was lost: no more jobs go there; its leases end (their jobs are resent)."""
        self._slots.pop(node_id, None)
        for lease_id in [i for i, (node, _) in self._leases.items() if node == node_id]:
            del self._leases[lease_id]

    def expire(self) -> float | None:
        """End leases past their time; returns the time until the next expiry (``None``: no lease)."""
        now = self._clock()
        for lease_id in [i for i, (_, expiry) in self._leases.items() if expiry <= now]:
            del self._leases[lease_id]
        remaining = [expiry - now for _, expiry in self._leases.values()]
        return min(remaining) if remaining else None

    def free(self) -> int:
        """Slots that may be leased now."""
        return max(0, self.capacity - self.in_use)

    def grant(self, want: int, lease_s: float) -> list[Lease]:
        """Up to ``want`` slots (fewer when fewer are free), each on the node with the most free slots."""
        busy: dict[str, int] = dict.fromkeys(self._slots, 0)
        for node, _ in self._leases.values():
            busy[node] += 1
        leases = []
        expiry = self._clock() + lease_s
        for _ in range(min(want, self.free())):
            node = max(self._slots, key=lambda n: (self._slots[n] - busy[n], n))
            if self._slots[node] - busy[node] <= 0:
                break
            busy[node] += 1
            lease = Lease(next(self._ids), node)
            self._leases[lease.lease_id] = (node, expiry)
            leases.append(lease)
        self.granted += len(leases)
        self.max_in_use = max(self.max_in_use, self.in_use)
        return leases

    def renew(self, lease_ids: list[int], lease_s: float) -> None:
        """Extend leases kept for the caller's next job (a lease that already ended stays ended)."""
        expiry = self._clock() + lease_s
        for lease_id in lease_ids:
            if lease_id in self._leases:
                self._leases[lease_id] = (self._leases[lease_id][0], expiry)

    def release(self, lease_ids: list[int]) -> None:
        """Give slots back (a lease that already ended is ignored)."""
        for lease_id in lease_ids:
            self._leases.pop(lease_id, None)

    def stats(self) -> dict[str, object]:
        """What the ledger holds, for logs and tests."""
        return {
            "limit": self.limit,
            "capacity": self.capacity,
            "in_use": self.in_use,
            "max_in_use": self.max_in_use,
            "granted": self.granted,
            "nodes": self.nodes,
        }
