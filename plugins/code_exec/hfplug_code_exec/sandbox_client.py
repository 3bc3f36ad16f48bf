"""The judge's side of one sandbox: start the zygote, start a run, call the program's function, stop.

Everything that comes out of the sandbox is treated as hostile data: lines are size-capped,
parsed as JSON, decoded into built-in types only, and matched to the call they answer.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import json
import os
import select
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hfplug_code_exec import isolation
from hfplug_code_exec.cgroup import MemoryCgroup
from hfplug_code_exec.errors import WorkerFailure
from hfplug_code_exec.limits import ExecutionLimits
from hfplug_code_exec.sandbox import wire

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
CGROUP_HEADROOM_MB = 128


class RunAborted(BaseException):
    """The run ended before the tests finished (time, memory, output, exit, bad protocol).

    A ``BaseException`` so that a test's own ``except Exception:`` cannot swallow it.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class ProgramRaised(Exception):
    """The program's function raised; ``kind`` is the exception type name, ``trace`` its trimmed traceback."""

    def __init__(self, kind: str, trace: str) -> None:
        super().__init__(trace)
        self.kind = kind
        self.trace = trace


@functools.cache
def _program_exception_class(kind: str) -> type[ProgramRaised]:
    """``ProgramRaised`` that is also the built-in exception ``kind`` (so a test's ``except ValueError`` works)."""
    builtin = getattr(builtins, kind, None)
    if isinstance(builtin, type) and issubclass(builtin, Exception) and builtin.__module__ == "builtins":
        try:
            return type(f"Program{kind}", (ProgramRaised, builtin), {})
        except TypeError:  # a built-in whose layout cannot be combined
            pass
    return ProgramRaised


def program_raised(kind: str, trace: str) -> ProgramRaised:
    """The exception the judge raises when the program's function raised ``kind``."""
    return _program_exception_class(kind)(kind, trace)


@dataclass
class RunRecord:
    """How a run ended, as the zygote saw it."""

    load: str = "not_started"  # ok | error | missing | not_started
    load_error: str = ""
    load_error_type: str = ""
    exit_code: int | None = None
    limit: str | None = None  # wall | output | None, from the zygote
    output: str = ""
    aborted: RunAborted | None = None
    extras: dict[str, Any] = field(default_factory=dict)


class _Lines:
    """Line reader over a raw fd with a size cap per line and a deadline."""

    def __init__(self, fd: int, max_line: int) -> None:
        self.fd = fd
        self.max_line = max_line
        self.buffer = b""

    def has_line(self) -> bool:
        return b"\n" in self.buffer

    def feed(self) -> bool:
        """Read what is available; False on end of file."""
        chunk = os.read(self.fd, 1 << 20)
        if not chunk:
            return False
        self.buffer += chunk
        if b"\n" not in self.buffer and len(self.buffer) > self.max_line:
            raise RunAborted("output limit", "a returned value is larger than max_value_bytes")
        return True

    def pop(self) -> bytes:
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line

    def drain(self) -> None:
        """Throw away whatever is buffered or readable right now (left over from a finished run)."""
        self.buffer = b""
        while select.select([self.fd], [], [], 0)[0]:
            if not os.read(self.fd, 1 << 20):
                break


class Sandbox:
    """One zygote (inside bubblewrap unless the level is ``none``) owned by one worker."""

    def __init__(self, level: str, run_uid: int | None, cgroup: MemoryCgroup | None = None) -> None:
        self.level = level
        self.run_uid = run_uid
        self.cgroup = cgroup
        self.process: subprocess.Popen | None = None
        self._plain_root: tempfile.TemporaryDirectory | None = None

    def start(self) -> None:
        """Start the zygote and wait for its hello; raises WorkerFailure if it does not come up."""
        chan_in_r, self._chan_in_w = os.pipe()
        self._chan_out_r, chan_out_w = os.pipe()
        if self.level == "bubblewrap":
            argv = isolation.bwrap_command(chan_in_r, chan_out_w, self.run_uid)
            kwargs: dict[str, Any] = {}
        else:
            self._plain_root = tempfile.TemporaryDirectory(prefix="hfplug-code-exec-")
            argv = isolation.plain_command(chan_in_r, chan_out_w, self._plain_root.name)
            # No isolation means none: the code runs as the calling user (the opt-out says so).
            kwargs = {"start_new_session": True, "cwd": self._plain_root.name}
        if self.cgroup is not None:
            kwargs["preexec_fn"] = self.cgroup.enter  # the judge is single-threaded, so this is safe
        stderr = None if os.environ.get("HFPLUG_CODE_EXEC_DEBUG") else subprocess.DEVNULL
        self.process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            pass_fds=(chan_in_r, chan_out_w),
            env={},
            bufsize=0,
            **kwargs,
        )
        os.close(chan_in_r)
        os.close(chan_out_w)
        os.set_blocking(self._chan_in_w, False)
        self._control = _Lines(self.process.stdout.fileno(), 1 << 24)
        self._channel = _Lines(self._chan_out_r, 1 << 24)
        hello = self._control_message(time.monotonic() + START_TIMEOUT_S)
        if hello.get("op") != "hello":
            raise WorkerFailure(f"sandbox sent {hello!r} instead of hello")

    def close(self) -> None:
        """Kill the zygote (and with it anything left in the sandbox)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            for fd in (self._chan_in_w, self._chan_out_r):
                with contextlib.suppress(OSError):
                    os.close(fd)
            self.process = None
        if self._plain_root is not None:
            self._plain_root.cleanup()
            self._plain_root = None

    def _control_message(self, deadline: float) -> dict[str, Any]:
        while not self._control.has_line():
            if not select.select([self._control.fd], [], [], max(0.0, deadline - time.monotonic()))[0]:
                raise WorkerFailure("sandbox did not answer in time")
            if not self._control.feed():
                raise WorkerFailure("sandbox process died")
        try:
            return wire.decode_line(self._control.pop())
        except ValueError as error:
            raise WorkerFailure(f"sandbox sent a malformed control message: {error}") from error

    def _send_control(self, message: dict[str, Any]) -> None:
        try:
            self.process.stdin.write(wire.encode_line(message))
        except (BrokenPipeError, OSError) as error:
            raise WorkerFailure("sandbox process died") from error

    def _send_channel(self, data: bytes, deadline: float) -> None:
        """Write a request to the run without ever blocking past the deadline (the run may stop reading)."""
        view = memoryview(data)
        while view:
            if not select.select([], [self._chan_in_w], [], max(0.0, deadline - time.monotonic()))[1]:
                raise RunAborted("timed out")
            view = view[os.write(self._chan_in_w, view[: 1 << 16]) :]

    def _channel_message(self, deadline: float) -> dict[str, Any]:
        """Next message from the run, or RunAborted when the run ends or time is up first."""
        while not self._channel.has_line():
            ready = select.select([self._channel.fd, self._control.fd], [], [], max(0.0, deadline - time.monotonic()))[
                0
            ]
            if not ready:
                raise RunAborted("timed out")
            if self._channel.fd in ready:
                self._channel.feed()
            elif not self._channel.has_line():
                raise RunAborted("ended")  # the zygote reported the end of the run
        try:
            message = json.loads(self._channel.pop())
        except (ValueError, RecursionError) as error:
            raise RunAborted("protocol", f"the run sent malformed data ({error})") from error
        if not isinstance(message, dict):
            raise RunAborted("protocol", "the run sent something that is not a message")
        return message

    def run(
        self, program: str, entry_point: str, limits: ExecutionLimits, driver: Callable[[Callable[..., Any]], Any]
    ) -> tuple[RunRecord, Any]:
        """Start a run of ``program`` and hand ``driver`` a function that calls ``entry_point`` in it.

        The driver runs here, outside the sandbox; its return value is passed back. Whatever happens
        in the program, the run is over (every process of it dead) when this returns.
        """
        record = RunRecord()
        deadline = time.monotonic() + limits.wall_time_s
        self._channel.max_line = limits.max_value_bytes
        self._channel.drain()
        oom_before = 0
        if self.cgroup is not None:
            # The run's processes together (tmpfs folder included) plus room for the zygote.
            self.cgroup.set_limit((limits.memory_mb + limits.folder_mb + CGROUP_HEADROOM_MB) * 1024 * 1024)
            oom_before = self.cgroup.oom_kills()
        self._send_control({"op": "run", "program": program, "entry_point": entry_point, "limits": limits.as_dict()})
        if self._control_message(time.monotonic() + START_TIMEOUT_S).get("op") != "started":
            raise WorkerFailure("sandbox did not start the run")
        result = None
        try:
            try:
                setup = self._channel_message(time.monotonic() + START_TIMEOUT_S)
            except RunAborted as aborted:  # the sandbox failed before the program ran: not the program's fault
                raise WorkerFailure(f"the run's sandbox set-up failed ({aborted.reason})") from None
            if setup.get("setup") != "ok":
                raise WorkerFailure(f"the run's sandbox set-up sent {str(setup)[:100]!r}")
            loaded = self._channel_message(deadline)
            record.load = str(loaded.get("load"))
            record.load_error = str(loaded.get("error", ""))[:4000]
            record.load_error_type = str(loaded.get("type", ""))[:100]
            if record.load == "ok":
                caller = _Caller(self, deadline)
                result = driver(caller)
                record.aborted = caller.aborted  # the driver may have swallowed it; the record must not
        except RunAborted as aborted:
            record.aborted = aborted
        self._send_control({"op": "stop"})
        done = self._control_message(time.monotonic() + STOP_TIMEOUT_S)
        if done.get("op") != "done":
            raise WorkerFailure(f"sandbox sent {done!r} instead of done")
        record.exit_code = done.get("exit")
        record.limit = done.get("limit")
        record.output = str(done.get("output", ""))
        if self.cgroup is not None:
            record.extras["memory_cgroup_hit"] = self.cgroup.oom_kills() > oom_before
        return record, result


class _Caller:
    """The callable a driver uses in place of the program's function."""

    def __init__(self, sandbox: Sandbox, deadline: float) -> None:
        self.sandbox = sandbox
        self.deadline = deadline
        self.calls = 0
        self.aborted: RunAborted | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.aborted is not None:  # once the run is gone, every later call fails the same way
            raise self.aborted
        self.calls += 1
        # Arguments come from the trusted tests: one that cannot be sent is the tests' error, not the run's.
        message = {"call": self.calls, "args": wire.to_wire(list(args)), "kwargs": wire.to_wire(kwargs)}
        try:
            self.sandbox._send_channel(wire.encode_line(message), self.deadline)
            while True:
                reply = self.sandbox._channel_message(self.deadline)
                if reply.get("call") == self.calls:
                    break
            if "error" in reply:
                kind, trace = str(reply.get("type", "Exception"))[:100], str(reply["error"])[:4000]
            else:
                return wire.from_wire(reply.get("value"))
        except RunAborted as aborted:
            self.aborted = aborted
            raise
        except (ValueError, TypeError, KeyError, RecursionError) as error:
            self.aborted = RunAborted("protocol", f"the run sent a malformed value ({error})")
            raise self.aborted from error
        except BrokenPipeError as error:
            self.aborted = RunAborted("ended")
            raise self.aborted from error
        raise program_raised(kind, trace)
