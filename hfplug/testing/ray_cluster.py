"""A Ray cluster of several nodes on this machine, on the loopback interface only (``ray.cluster_utils.Cluster``).

For tests of code that runs on Ray, the way Ray tests itself: a head and worker nodes as separate raylets on
this machine, the test process connected as a driver. A local Ray binds this machine's network address unless
told otherwise: every node is given 127.0.0.1 (``LOOPBACK_ENV`` does the same for Ray's own processes and for
driver processes a test starts), and the helper checks it from ``ray.nodes()``. Usage statistics stay off.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

LOOPBACK = "127.0.0.1"
LOOPBACK_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}
"""Environment for Ray's processes and for other driver processes of a test: loopback only, no usage report."""

FAST_FAILURE_DETECTION = {
    "health_check_initial_delay_ms": 0,
    "health_check_period_ms": 300,
    "health_check_timeout_ms": 300,
    "health_check_failure_threshold": 3,
}
"""The head's ``_system_config`` under which a killed node is declared dead within about a second (Ray: 30 s)."""


def check_loopback(ray: Any) -> None:
    """Every node of the connected cluster listens on 127.0.0.1 (an AssertionError naming the others if not)."""
    addresses = {node["NodeManagerAddress"] for node in ray.nodes()}
    assert addresses == {LOOPBACK}, f"Ray nodes outside the loopback interface: {sorted(addresses - {LOOPBACK})}"


@contextmanager
def loopback_ray_cluster(
    worker_resources: list[dict[str, float] | None],
    *,
    head_cpus: int = 1,
    system_config: dict[str, Any] | None = None,
) -> Iterator[Any]:
    """A head node (``head_cpus`` CPUs) and one worker node of one CPU per entry of ``worker_resources`` (its
    custom Ray resources, or None), this process connected to it and ``RAY_ADDRESS`` set to it; yields the
    ``ray.cluster_utils.Cluster`` (``add_node`` with ``node_ip_address=LOOPBACK`` for more). Skips the test only
    when Ray cannot start a cluster on this machine (the reason says why); shuts everything down after."""
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install ray)")
    from ray.cluster_utils import Cluster

    with pytest.MonkeyPatch.context() as patch:
        for name, value in LOOPBACK_ENV.items():
            patch.setenv(name, value)
        # Ray reads the variable once, at import, and it may have been imported before this ran.
        patch.setattr(ray._private.ray_constants, "ENABLE_RAY_CLUSTER", False)
        cluster = None
        try:
            cluster = Cluster(
                initialize_head=True,
                head_node_args={
                    "num_cpus": head_cpus,
                    "node_ip_address": LOOPBACK,
                    "include_dashboard": False,
                    "_system_config": system_config or {},
                },
            )
            for resources in worker_resources:
                cluster.add_node(num_cpus=1, node_ip_address=LOOPBACK, resources=resources)
            cluster.wait_for_nodes()
            ray.init(
                address=cluster.address, _node_ip_address=LOOPBACK, log_to_driver=False, logging_level=logging.WARNING
            )
        except Exception as error:  # the only reason to skip: Ray itself cannot run on this machine
            if cluster is not None:
                cluster.shutdown()
            pytest.skip(f"Ray cannot start a local cluster on this machine: {type(error).__name__}: {error}")
        try:
            check_loopback(ray)
            assert len(ray.nodes()) == 1 + len(worker_resources)
            patch.setenv("RAY_ADDRESS", cluster.address)
            yield cluster
        finally:
            ray.shutdown()
            cluster.shutdown()
