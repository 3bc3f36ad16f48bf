"""The worker's side of one sandbox (the program's or the judge's): start its zygote, start a run,
exchange messages with the run, stop it.

Everything that comes out of a sandbox is treated as hostile data: lines are size-capped and
parsed as JSON objects; the worker never decodes values (the judge does, into built-in types only).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

from hfplug_code_exec import isolation
from hfplug_code_exec.cgroup import MemoryCgroup
from hfplug_code_exec.errors import WorkerFailure
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


@dataclass
class RunRecord:
    """How a run ended, as the zygote saw it."""

    load: str = "not_started"  # ok | error | missing | not_started
    load_error: str = ""
    load_error_type: str = ""
    names: dict[str, str] = field(default_factory=dict)
    exit_code: int | None = None
    limit: str | None = None  # wall | output | None, from the zygote
    output: str = ""
    aborted: RunAborted | None = None
    extras: dict[str, Any] = field(default_factory=dict)


def _value_too_large() -> RunAborted:
    return RunAborted("output limit", wire.VALUE_TOO_LARGE)


class Sandbox:
    """One zygote (inside bubblewrap unless the level is ``none``) owned by one worker.

    ``role`` is ``candidate`` (runs the program: fresh namespaces and tmpfs per run) or ``judge``
    (runs the dataset's tests: a read-only sandbox of its own, a forked process per run).
    """

    def __init__(
        self,
        level: str,
        run_uid: int | None,
        cgroup: MemoryCgroup | None = None,
        role: str = "candidate",
        peer: tuple[int, int] | None = None,
    ) -> None:
        self.role = role
        self.peer = peer  # (read fd, write fd) of the pipes to the other sandbox, if any
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
            argv = isolation.bwrap_command(chan_in_r, chan_out_w, self.run_uid, self.role, self.peer)
            kwargs: dict[str, Any] = {}
        else:
            self._plain_root = tempfile.TemporaryDirectory(prefix="hfplug-code-exec-")
            argv = isolation.plain_command(chan_in_r, chan_out_w, self._plain_root.name, self.role, self.peer)
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
            pass_fds=(chan_in_r, chan_out_w, *(self.peer or ())),
            env={},
            bufsize=0,
            **kwargs,
        )
        os.close(chan_in_r)
        os.close(chan_out_w)
        os.set_blocking(self._chan_in_w, False)
        self._control = wire.LineBuffer(self.process.stdout.fileno(), 1 << 24, _value_too_large)
        self._channel = wire.LineBuffer(self._chan_out_r, 1 << 24, _value_too_large)
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

    def begin(self, request: dict[str, Any], limits: dict[str, Any], max_line: int) -> None:
        """Ask for a run (``request`` goes to it whole); :meth:`confirm` then waits until it is set up.
        Apart, so that the worker can start the program's run and the judge's at the same time."""
        self._channel.max_line = max_line
        self._channel.drain()
        self._send_control({"op": "run", **request, "limits": limits})

    def confirm(self) -> None:
        """Wait until the run asked for by :meth:`begin` says that its sandbox is set up (its first message; the
        zygote sends nothing before the run's end, which would end the wait as a failed set-up)."""
        try:
            setup = self.receive(time.monotonic() + START_TIMEOUT_S)
        except RunAborted as aborted:  # the sandbox failed before the code ran: not the program's fault
            raise WorkerFailure(f"the {self.role} run's sandbox set-up failed ({aborted.reason})") from None
        if setup.get("setup") != "ok":
            raise WorkerFailure(f"the {self.role} run's sandbox set-up sent {str(setup)[:100]!r}")

    def send(self, message: dict[str, Any], deadline: float) -> None:
        """Write one message to the run, never blocking past the deadline (the run may stop reading)."""
        try:
            self._send_channel(wire.encode_line(message), deadline)
        except BrokenPipeError:
            raise RunAborted("ended") from None

    @property
    def control_fd(self) -> int:
        return self._control.fd

    def run_ended(self) -> bool:
        """Whether the zygote has reported the end of the current run (without consuming the report)."""
        return self._control.has_line() or bool(select.select([self._control.fd], [], [], 0)[0])

    def wait(self, others: list[int], deadline: float) -> bool:
        """Wait for a message from the run, or until one of ``others`` is readable or the deadline passes;
        True when a message (or the run's end) is there to receive."""
        if self._channel.has_line():
            return True
        ready = select.select(
            [self._channel.fd, self._control.fd, *others], [], [], max(0.0, deadline - time.monotonic())
        )[0]
        return bool(set(ready) & {self._channel.fd, self._control.fd}) or (not ready and not others)

    def receive(self, deadline: float) -> dict[str, Any]:
        """The run's next message; RunAborted when it ends, breaks the protocol or time is up first."""
        return self._channel_message(deadline)

    def end(self, keep: bool = False) -> dict[str, Any]:
        """Stop the run (every process of it dies) and return the zygote's report: exit, limit, output.

        ``keep``: a judge run that ended normally keeps its process for the next run of the same row (and
        its zygote needs no word about it)."""
        if keep:
            return {"op": "done", "exit": None, "limit": None, "output": ""}
        self._send_control({"op": "stop"})
        done = self._control_message(time.monotonic() + STOP_TIMEOUT_S)
        while done.get("op") == "ended":  # the judge's process had died by itself before the stop
            done = self._control_message(time.monotonic() + STOP_TIMEOUT_S)
        if done.get("op") != "done":
            raise WorkerFailure(f"{self.role} sandbox sent {done!r} instead of done")
        return done
