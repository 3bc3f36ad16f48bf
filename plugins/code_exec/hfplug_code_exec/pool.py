"""The executor service: a pool of pre-started worker processes, each owning one sandbox.

Workers are started with ``subprocess`` (fork + exec of a fresh interpreter with an empty
environment), so they never hold a copy of the caller's memory or secrets. ``run`` is
thread-safe; ``run_many`` spreads a batch over all workers.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import select
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from hfplug_code_exec import isolation
from hfplug_code_exec.cgroup import candidate_folders, remove_when_empty, worker_cgroup_name
from hfplug_code_exec.errors import InvalidTestsError, WorkerFailure
from hfplug_code_exec.limits import ExecutionLimits
from hfplug_code_exec.results import ExecutionResult

DEFAULT_RUN_UID_BASE = 61000
WORKER_START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Job:
    """One program and its tests.

    ``test`` holds the hidden (scored) tests in the shape of ``test_format`` (see
    :mod:`hfplug_code_exec.formats`): a ``check(candidate)`` source (``humaneval``), a list of
    assert statements (``mbpp``, with ``setup`` run first), a pytest-style module (``pytest``) or
    ``{"inputs", "outputs", "fn_name"}`` (``stdio``). ``public_test`` has the same shape and is
    used for feedback only. ``prompt`` is helper code from the dataset's stub that HumanEval tests
    may call. ``strict_types`` compares with identical types; ``False`` as the reference harnesses.
    """

    program: str
    test: Any
    entry_point: str = ""
    prompt: str = ""
    public_test: Any = None
    test_format: str = "humaneval"
    setup: str = ""
    strict_types: bool = True

    def message(self, limits: ExecutionLimits) -> dict[str, Any]:
        """The request a worker receives (data only)."""
        suites = []
        # A ``values`` job reports what the function returned (building tests from a reference), so it is public.
        hidden = "public" if self.test_format == "values" else "hidden"
        for visibility, test in (("public", self.public_test), (hidden, self.test)):
            if test is None and visibility == "public":
                continue
            suites.append(
                {
                    "format": self.test_format,
                    "visibility": visibility,
                    "test": test,
                    "helpers": self.prompt,
                    "setup": self.setup,
                    "entry_point": self.entry_point,
                }
            )
        return {
            "program": self.program,
            "entry_point": self.entry_point,
            "required_name": self.entry_point if self.test_format != "pytest" else "",
            "tests": suites,
            "strict_types": self.strict_types,
            "test_time_s": limits.test_time_s,
            "limits": limits.as_dict(),
        }


class _Worker:
    """One judge process and its pipes."""

    def __init__(self, slot: int, level: str, run_uid: int | None) -> None:
        self.slot = slot
        self.level = level
        self.run_uid = run_uid
        self.process: subprocess.Popen | None = None
        self.cgroup_folder: str | None = None

    def start(self) -> None:
        config = json.dumps({"level": self.level, "run_uid": self.run_uid})
        env = {"PATH": os.defpath, "LANG": "C.UTF-8"}
        if os.environ.get("HFPLUG_CODE_EXEC_DEBUG"):
            env["HFPLUG_CODE_EXEC_DEBUG"] = "1"
        # -P: `-m` would put the caller's working folder first on the import path, where a file named like a
        # module the worker imports (selectors.py, json.py) would shadow it.
        self.process = subprocess.Popen(
            [sys.executable, "-P", "-m", "hfplug_code_exec.worker", config],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,
            env=env,
            close_fds=True,
        )
        hello = self._read(time.monotonic() + WORKER_START_TIMEOUT_S)
        if not hello.get("hello"):
            self.stop()
            raise WorkerFailure(f"worker {self.slot} could not start its sandbox: {hello.get('error', hello)}")
        self.cgroup_folder = hello.get("memory_cgroup")

    def stop(self, graceful: bool = False) -> None:
        """End the worker: politely (close its input, it cleans up) or by SIGKILL (it may be hung)."""
        if self.process is None:
            return
        pid = self.process.pid
        if graceful:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)
        self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                stream.close()
        self.process = None
        # A killed worker cannot remove its cgroup (it may have died before saying where it is); its
        # sandbox dies with it, so the pool removes the empty folder.
        for role in ("candidate", "judge"):
            for folder, _ in candidate_folders(worker_cgroup_name(pid, role)):
                if folder.exists():
                    remove_when_empty(str(folder))
        self.cgroup_folder = None

    def _read(self, deadline: float) -> dict[str, Any]:
        stdout = self.process.stdout
        if not select.select([stdout], [], [], max(0.0, deadline - time.monotonic()))[0]:
            raise WorkerFailure(f"worker {self.slot} did not answer in time")
        line = stdout.readline()
        if not line:
            raise WorkerFailure(f"worker {self.slot} died (exit status {self.process.poll()})")
        return json.loads(line)

    def request(self, message: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        if self.process is None or self.process.poll() is not None:
            self.stop()
            self.start()
        try:
            self.process.stdin.write(json.dumps(message).encode() + b"\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError) as error:
            raise WorkerFailure(f"worker {self.slot} died") from error
        return self._read(time.monotonic() + timeout_s)


class ExecutorPool:
    """Runs untrusted programs against unit tests in sandboxed, pre-started workers.

    ``workers`` defaults to twice the CPU count. ``isolation_level``: ``auto`` (bubblewrap, else an
    error unless the opt-out is set), ``bubblewrap`` or ``none`` (needs ``allow_unsandboxed=True`` or
    the environment variable ``HFPLUG_CODE_EXEC_I_ACCEPT_RUNNING_UNTRUSTED_CODE_WITHOUT_A_SANDBOX=1``).
    ``run_uid_base``: when the pool runs as root, worker *i* runs code as uid ``run_uid_base + i``,
    so process-count limits and signals never cross workers.
    """

    def __init__(
        self,
        workers: int | None = None,
        limits: ExecutionLimits | None = None,
        *,
        isolation_level: str = "auto",
        allow_unsandboxed: bool = False,
        run_uid_base: int = DEFAULT_RUN_UID_BASE,
        infra_retries: int = 2,
    ) -> None:
        self.limits = limits or ExecutionLimits()
        self.isolation = isolation.choose_level(isolation_level, allow_unsandboxed)
        if self.isolation == "none":
            print(
                f"WARNING: hfplug-code-exec runs untrusted code WITHOUT a sandbox ({isolation.UNSANDBOXED_ENV}).",
                file=sys.stderr,
            )
        self.infra_retries = infra_retries
        # A run spends much of its latency waiting on the kernel (namespace set-up and teardown), not on
        # the CPU, so twice as many workers as CPUs keeps the CPUs busy.
        count = workers or 2 * max(1, os.cpu_count() or 1)
        is_root = os.geteuid() == 0
        self._workers = [_Worker(i, self.isolation, run_uid_base + i if is_root else None) for i in range(count)]
        self._free: queue.Queue[_Worker] = queue.Queue()
        self._closed = False
        try:
            with ThreadPoolExecutor(count) as starter:  # sandboxes start in parallel
                list(starter.map(lambda w: w.start(), self._workers))
        except BaseException:
            for worker in self._workers:  # leave nothing running behind a failed start
                worker.stop()
            raise
        for worker in self._workers:
            self._free.put(worker)

    @property
    def memory_cgroup(self) -> bool:
        """Whether every worker's sandbox sits in its own memory cgroup (a whole-run memory cap)."""
        return all(worker.cgroup_folder for worker in self._workers)

    @property
    def size(self) -> int:
        """Number of workers (concurrent runs)."""
        return len(self._workers)

    def run(self, job: Job, limits: ExecutionLimits | None = None) -> ExecutionResult:
        """Run one job; infrastructure failures are retried on a fresh worker, then reported as such."""
        if self._closed:
            raise RuntimeError("the executor pool is closed")
        limits = limits or self.limits
        message = job.message(limits)
        # Generous: the worker enforces the real limit; this only catches a hung worker.
        timeout = limits.wall_time_s + 60.0
        failure = ""
        for attempt in range(1, self.infra_retries + 2):
            worker = self._free.get()
            try:
                reply = worker.request(message, timeout)
                if "spec_error" in reply:
                    raise InvalidTestsError(reply["spec_error"])
                if "infrastructure_error" not in reply:
                    result = ExecutionResult.from_dict(reply)
                    result.attempts = attempt
                    return result
                failure = reply["infrastructure_error"]
            except WorkerFailure as error:
                failure = str(error)
                worker.stop()  # restarted on its next request
            finally:
                self._free.put(worker)
        return ExecutionResult(
            status="infrastructure_error",
            reason="infrastructure",
            isolation=self.isolation,
            feedback=f"The executor failed ({failure}); this is not the program's fault.",
            attempts=self.infra_retries + 1,
        )

    def run_many(self, jobs: Sequence[Job], limits: ExecutionLimits | None = None) -> list[ExecutionResult]:
        """Run jobs in parallel over the workers; results come back in order."""
        if not jobs:
            return []
        with ThreadPoolExecutor(min(self.size, len(jobs))) as executor:
            return list(executor.map(lambda job: self.run(job, limits), jobs))

    def close(self) -> None:
        """Stop every worker and its sandbox."""
        self._closed = True
        for worker in self._workers:
            worker.stop(graceful=True)

    def __enter__(self) -> ExecutorPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_shared_lock = threading.Lock()
_shared: ExecutorPool | None = None


def shared_limits() -> ExecutionLimits:
    """The limits of the rewards' executors: ``HFPLUG_CODE_EXEC_WALL_TIME_S`` (default 10) of wall and CPU time."""
    wall = float(os.environ.get("HFPLUG_CODE_EXEC_WALL_TIME_S", "10"))
    return ExecutionLimits(wall_time_s=wall, cpu_time_s=wall)


def shared_pool() -> ExecutorPool:
    """The process-wide pool the reward functions use, created on first use.

    Its size and limits come from ``HFPLUG_CODE_EXEC_WORKERS`` and ``HFPLUG_CODE_EXEC_WALL_TIME_S``.
    """
    global _shared
    with _shared_lock:
        if _shared is None or _shared._closed:
            import atexit

            workers = int(os.environ.get("HFPLUG_CODE_EXEC_WORKERS", "0")) or None
            _shared = ExecutorPool(workers, shared_limits())
            atexit.register(_shared.close)
        return _shared
