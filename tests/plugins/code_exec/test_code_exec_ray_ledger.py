"""The slot ledger behind the ``ray`` executor's cluster-wide limit, and that Ray stays unimported (no Ray needed)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from hfplug_code_exec.slot_ledger import SlotLedger


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_grants_never_exceed_the_limit_or_a_nodes_slots_and_spread_over_nodes():
    ledger = SlotLedger(limit=5)
    ledger.register("a", 4)
    ledger.register("b", 2)
    first = ledger.grant(3, lease_s=60)
    assert [lease.node_id for lease in first].count("a") == 2  # the node with the most free slots first
    second = ledger.grant(10, lease_s=60)
    assert len(second) == 2 and ledger.in_use == 5 == ledger.max_in_use  # the limit, not the 6 slots
    assert ledger.grant(1, lease_s=60) == []
    ledger.release([second[0].lease_id, second[0].lease_id])  # a second release of one lease frees nothing more
    assert ledger.free() == 1


def test_without_a_limit_the_capacity_is_every_nodes_slots():
    ledger = SlotLedger()
    ledger.register("a", 2)
    ledger.register("b", 3)
    leases = ledger.grant(9, lease_s=60)
    assert len(leases) == 5
    assert sorted(lease.node_id for lease in leases) == ["a", "a", "b", "b", "b"]


def test_a_lost_node_takes_its_slots_and_leases_with_it():
    ledger = SlotLedger()
    ledger.register("a", 2)
    ledger.register("b", 2)
    leases = ledger.grant(4, lease_s=60)
    ledger.forget("a")
    assert ledger.capacity == 2 and ledger.in_use == 2
    ledger.release([lease.lease_id for lease in leases])
    assert [lease.node_id for lease in ledger.grant(3, lease_s=60)] == ["b", "b"]  # nothing goes to the lost node
    ledger.forget("b")
    assert ledger.nodes == {} and ledger.grant(1, lease_s=60) == []


def test_leases_of_a_trainer_that_never_gives_them_back_end_with_their_time():
    clock = Clock()
    ledger = SlotLedger(limit=1, clock=clock)
    ledger.register("a", 4)
    ledger.grant(1, lease_s=30)
    assert ledger.grant(1, lease_s=30) == []
    clock.now = 29.0
    assert ledger.expire() == pytest.approx(1.0) and ledger.free() == 0
    clock.now = 30.0
    assert ledger.expire() is None and ledger.free() == 1


def test_a_limit_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        SlotLedger(limit=0)


def test_nothing_imports_ray_unless_it_is_chosen():
    script = (
        "import sys, hfplug_code_exec, hfplug_code_exec.cli, hfplug_code_exec.plugin\n"
        "from hfplug_code_exec.executors import chosen_executor\n"
        "from hfplug_code_exec.rewards import unit_tests\n"
        "unit_tests.with_options(executor='local')\n"
        "assert chosen_executor() == 'local'\n"
        "print('ray' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "HFPLUG_CODE_EXEC_EXECUTOR"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    assert done.stdout.strip() == "False"


def test_a_renewed_lease_lasts_from_its_renewal_and_an_ended_one_stays_ended():
    clock = Clock()
    ledger = SlotLedger(clock=clock)
    ledger.register("a", 2)
    kept, dropped = ledger.grant(2, lease_s=10)
    clock.now = 8.0
    ledger.renew([kept.lease_id], lease_s=10)
    clock.now = 12.0
    ledger.expire()
    assert ledger.in_use == 1
    ledger.renew([dropped.lease_id], lease_s=10)
    assert ledger.in_use == 1
