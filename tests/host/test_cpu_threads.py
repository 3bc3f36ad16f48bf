"""Importing hfplug makes torch's OpenMP threads sleep while they wait, unless the user chose a policy
(benchmarks/cpu_contention_step_time.py measures why)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PRINT_POLICY = "import os; print(os.environ.get('OMP_WAIT_POLICY', 'unset'))"


def policy_after(imports: str, **environment: str) -> str:
    """OMP_WAIT_POLICY in a fresh interpreter after ``imports``, with ``environment`` on top of a clean one."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"} | environment
    command = [sys.executable, "-c", f"{imports}; {PRINT_POLICY}"]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=True, timeout=300).stdout.strip()


def test_importing_hfplug_before_torch_sets_passive_waiting():
    assert policy_after("import hfplug, torch") == "PASSIVE"


@pytest.mark.parametrize("chosen", ["ACTIVE", "passive", ""])
def test_a_policy_the_user_set_is_kept(chosen):
    assert policy_after("import hfplug", OMP_WAIT_POLICY=chosen) == chosen


def test_after_torch_is_imported_nothing_is_changed():
    # OpenMP has read its settings by then: setting the variable would claim an effect it cannot have.
    assert policy_after("import torch, hfplug") == "unset"
