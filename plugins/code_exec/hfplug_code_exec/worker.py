"""A pool worker: a fresh process (``python -m hfplug_code_exec.worker``) that owns one sandbox.

It is the judge: it runs the trusted tests here, outside the sandbox, against a proxy of the
program's function that lives inside. Requests and results are JSON lines on stdin/stdout.
A sandbox failure is answered as ``infrastructure_error`` and the sandbox is restarted.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from hfplug_code_exec.cgroup import MemoryCgroup, worker_cgroup_name
from hfplug_code_exec.errors import InvalidTestsError, WorkerFailure
from hfplug_code_exec.limits import ExecutionLimits
from hfplug_code_exec.results import build_result
from hfplug_code_exec.sandbox_client import Sandbox
from hfplug_code_exec.testsuite import compile_tests


def handle(sandbox: Sandbox, request: dict[str, Any]) -> dict[str, Any]:
    """Run one program against its tests and return the result as a dict."""
    limits = ExecutionLimits(**request["limits"])
    try:
        suites = [
            compile_tests(t["test"], t.get("prompt", ""), t["visibility"], request["entry_point"])
            for t in request["tests"]
        ]
    except InvalidTestsError as error:
        return {"spec_error": str(error)}

    def driver(candidate: Any) -> list:
        outcomes = []
        for suite in suites:
            outcomes.extend(suite.run(candidate))
        return outcomes

    started = time.monotonic()
    record, outcomes = sandbox.run(request["program"], request["entry_point"], limits, driver)
    if outcomes is None:  # the program never loaded: every test fails, none ran
        outcomes = [o for suite in suites for o in suite.run(_not_loaded)]
    result = build_result(record, outcomes, limits)
    result.isolation = sandbox.level
    result.duration_s = time.monotonic() - started
    return result.as_dict()


def _not_loaded(*args: Any) -> Any:
    from hfplug_code_exec.sandbox_client import RunAborted

    raise RunAborted("not loaded")


def _reply(message: dict[str, Any]) -> None:
    sys.stdout.buffer.write(json.dumps(message).encode() + b"\n")
    sys.stdout.buffer.flush()


def serve(sandbox: Sandbox) -> None:
    """Answer requests until stdin closes; returns early if the sandbox cannot be restarted."""
    try:
        sandbox.start()
    except (WorkerFailure, OSError) as error:
        _reply({"hello": False, "error": str(error)})
        return
    _reply({"hello": True, "memory_cgroup": str(sandbox.cgroup.folder) if sandbox.cgroup else None})
    for line in sys.stdin.buffer:
        try:
            _reply(handle(sandbox, json.loads(line)))
        except Exception as error:  # a bug of ours, never the program's doing: report it as infrastructure
            if not isinstance(error, WorkerFailure):
                error = WorkerFailure(f"judge error: {type(error).__name__}: {error}")
            _reply({"infrastructure_error": str(error)})
            sandbox.close()
            try:
                sandbox.start()
            except (WorkerFailure, OSError):
                return  # the pool sees the exit and starts a new worker


def main() -> None:
    config = json.loads(sys.argv[1])
    cgroup = MemoryCgroup.create(worker_cgroup_name(os.getpid())) if config.get("memory_cgroup", True) else None
    sandbox = Sandbox(config["level"], config.get("run_uid"), cgroup)
    try:
        serve(sandbox)
    finally:
        sandbox.close()
        if cgroup is not None:
            cgroup.remove()


if __name__ == "__main__":
    main()
