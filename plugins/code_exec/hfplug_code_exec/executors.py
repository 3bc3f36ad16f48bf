"""Where the code rewards run programs: ``local`` (this machine's sandbox pool) or ``ray`` (a Ray cluster's).

The choice comes from the reward's ``executor`` option (``unit_tests.with_options(executor="ray")``; in a
config, ``reward_options: {unit_tests: {executor: ray}}``), else from ``HFPLUG_CODE_EXEC_EXECUTOR`` (e.g.
``HFPLUG_CODE_EXEC_EXECUTOR=ray hfplug eval ...``, or any run without changing its config), else ``local``.
``ray`` connects as ``ray.init()`` does: the ``address`` option, else ``RAY_ADDRESS``. Ray is imported only
when ``ray`` is chosen.
"""

from __future__ import annotations

import os
from typing import Any

EXECUTORS = ("local", "ray")
EXECUTOR_ENV = "HFPLUG_CODE_EXEC_EXECUTOR"


def chosen_executor(name: str | None = None) -> str:
    """The executor's name: ``name``, else ``HFPLUG_CODE_EXEC_EXECUTOR``, else ``local``."""
    chosen = name or os.environ.get(EXECUTOR_ENV) or "local"
    if chosen not in EXECUTORS:
        source = "executor" if name else EXECUTOR_ENV
        raise ValueError(f"{source}: unknown executor {chosen!r}; choose one of {', '.join(EXECUTORS)}")
    return chosen


def shared_executor(name: str | None = None, address: str | None = None) -> Any:
    """The process-wide executor of that name (``run_many(jobs) -> results in order``), made on first use."""
    if chosen_executor(name) == "ray":
        from hfplug_code_exec.ray_executor import shared_ray_executor

        return shared_ray_executor(address)
    from hfplug_code_exec.pool import shared_pool

    return shared_pool()
