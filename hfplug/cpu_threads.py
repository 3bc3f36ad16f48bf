"""How torch's CPU threads wait for work: asleep, not spinning, unless the user chose otherwise.

torch runs its CPU ops on OpenMP threads, one per core. Between two parallel ops, and at the end of
each, a thread that has finished its share waits for the others; by default OpenMP makes it spin on
the core for a while first. On an idle machine that saves a wake-up; on a shared one it burns the
core another process (or this run's own other thread, descheduled) needed. Measured with
``benchmarks/cpu_contention_step_time.py`` (SmolLM2-shaped layers, the demo's batch) on 2 cores shared
with other work, load 14: spinning used 7.3 CPU-s per step against 3.4 asleep, and took 33.5 s per step
against 15.6; with two busy loops added (load 18-20), 88.8 s against 31.6. One thread instead of two
also stops the spinning (3.4 CPU-s, 17.6 and 43.8 s per step) but gives up the second core.

OpenMP reads ``OMP_WAIT_POLICY`` once, when torch is first imported, so hfplug sets it on its own import
(``import hfplug`` before ``import torch``; the ``hfplug`` command and the test suite always do).
"""

from __future__ import annotations

import os
import sys

WAIT_POLICY_VARIABLE = "OMP_WAIT_POLICY"
PASSIVE = "PASSIVE"


def default_to_passive_waiting() -> bool:
    """Set ``OMP_WAIT_POLICY=PASSIVE`` for this process (and those it starts) unless the user set it or torch
    is already imported (then OpenMP has read its settings and a change would only mislead). Returns whether
    it was set."""
    if WAIT_POLICY_VARIABLE in os.environ or "torch" in sys.modules:
        return False
    os.environ[WAIT_POLICY_VARIABLE] = PASSIVE
    return True
