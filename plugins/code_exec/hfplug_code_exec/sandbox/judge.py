"""The judge: runs a row's tests against the program, inside its own sandbox (stdlib only).

Tests and prompts come from datasets and are untrusted code, so the judge never runs in the
trainer's process or in the pool's worker: the worker starts it in a bubblewrap sandbox of its
own (read-only root, no network, no host files, a fresh forked process per run) and only relays
data between it and the program's sandbox. The program never sees the tests: each call of the
function under test travels as data (``wire``) from the judge through the worker into the
program's sandbox, and only the returned value comes back.

Protocol on the judge's channel (JSON lines): judge -> worker ``{"plan": [...]}`` (every test,
before any runs), any number of ``{"call": n, ...}`` (answered by the program's reply, or by
``{"call": n, "aborted": reason}`` when the program's run is gone), then ``{"done": outcomes}``;
``{"spec_error": text}`` when the tests themselves are malformed.
"""

from __future__ import annotations

import builtins
import functools
import json
import os
import select
import sys
import time
from typing import Any

import wire
from leetcode_nodes import NODE_CLASSES

MAX_SHOWN_CHARS = 300


class RunAborted(BaseException):
    """The program's run ended before the tests did (a ``BaseException``: tests cannot swallow it)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class SpecError(Exception):
    """The tests are malformed (they do not parse, define no test, ...)."""


class ProgramRaised(Exception):
    """The program's function raised; ``kind`` is the exception's type name, ``trace`` its trimmed traceback."""

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
    return _program_exception_class(kind)(kind, trace)


def shorten(value: Any, limit: int = MAX_SHOWN_CHARS) -> str:
    """``repr`` (or the text itself for strings shown as output) trimmed for feedback."""
    text = value if isinstance(value, _Shown) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _Shown(str):
    """A string shown as is (program output), not as its repr."""


class Channel:
    """JSON lines to and from another process over two pipes; lines longer than ``max_line`` are refused."""

    def __init__(self, fd_in: int, fd_out: int, max_line: int = 1 << 24) -> None:
        self.fd_in, self.fd_out = fd_in, fd_out
        self.lines = wire.LineBuffer(fd_in, max_line, too_long=_value_too_large)

    def send(self, message: dict) -> None:
        data = wire.encode_line(message)
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd_out, view) :]

    def has_line(self) -> bool:
        return self.lines.has_line()

    def feed(self) -> None:
        if not self.lines.feed():
            raise RunAborted("ended", "the channel closed")

    def pop(self) -> Any:
        return json.loads(self.lines.pop())

    def receive(self) -> dict:
        while not self.has_line():
            self.feed()
        return self.pop()

    def drain(self) -> None:
        """Throw away what an earlier run left behind."""
        self.lines.drain()


def _value_too_large() -> RunAborted:
    return RunAborted("output limit", wire.VALUE_TOO_LARGE)


class Recorder:
    """What happened during the current test, for feedback on public tests."""

    def __init__(self) -> None:
        self.current = -1
        self.reset()

    def reset(self) -> None:
        self.last_args: tuple | None = None
        self.last_kwargs: dict = {}
        self.last_value: Any = None
        self.has_value = False
        self.comparison: tuple[Any, Any] | None = None


class Candidate:
    """The program as the tests see it: every call goes to the program's sandbox as data."""

    def __init__(self, worker: Channel, program: Channel, request: dict, recorder: Recorder, deadline: float) -> None:
        self.worker = worker  # says when the program's run ended (or time is up) before it answered
        self.program = program  # calls go to the program's sandbox and replies come back on these pipes
        self.run = request.get("run")
        self.names = request.get("names") or {}
        self.test_time_s = float(request["test_time_s"])
        self.recorder = recorder
        self.deadline = deadline
        self.calls = 0
        self.aborted: RunAborted | None = None
        self.test_started = time.monotonic()

    def _abort(self, reason: str, detail: str = "") -> RunAborted:
        self.aborted = RunAborted(reason, detail)
        return self.aborted

    def request(self, message: dict) -> dict:
        if self.aborted is not None:  # once the run is gone, every later call fails the same way
            raise self.aborted
        self.calls += 1
        call = f"{self.run}.{self.calls}"  # unique across runs: a late reply of an earlier run never matches
        test_deadline = self.test_started + self.test_time_s
        message["call"] = call
        message["timeout"] = max(0.05, test_deadline - time.monotonic())
        slack = 1.0 if "stdio" in message else 0.0  # a stdin/stdout case's own limit is enforced in the run
        deadline = min(self.deadline, test_deadline + slack)
        try:
            self.program.send(message)
        except OSError:
            raise self._abort("ended") from None
        while True:
            reply = self._next_reply(deadline)
            if isinstance(reply, dict) and reply.get("call") == call:
                break
        if "error" in reply:
            raise program_raised(str(reply.get("type", "Exception"))[:100], str(reply["error"])[:4000])
        return reply

    def _next_reply(self, deadline: float) -> Any:
        """The program's next message; aborts when the worker says the run is over or time is up."""
        while not self.program.has_line():
            if self.worker.has_line():
                self._worker_message()
                continue
            remaining = deadline - time.monotonic()
            ready = select.select([self.program.fd_in, self.worker.fd_in], [], [], max(0.0, remaining))[0]
            if not ready:
                if deadline < self.deadline:
                    raise self._abort("timed out", "test")
                raise self._abort("timed out")
            if self.worker.fd_in in ready:
                self.worker.feed()
                continue
            try:
                self.program.feed()
            except RunAborted as error:
                raise self._abort(error.reason, error.detail) from None
        try:
            return self.program.pop()
        except (ValueError, RecursionError) as error:
            raise self._abort("protocol", f"the run sent malformed data ({error})") from None

    def _worker_message(self) -> None:
        message = self.worker.pop()
        if isinstance(message, dict) and message.get("run") == self.run and "aborted" in message:
            raise self._abort(str(message["aborted"])[:100], str(message.get("detail", ""))[:1000])

    def invoke(self, message: dict, args: tuple, kwargs: dict) -> Any:
        """Send a call with ``args``; return the decoded value (or an object handle)."""
        recorder = self.recorder
        recorder.last_args, recorder.last_kwargs, recorder.has_value = args, kwargs, False
        # Arguments come from the trusted tests: one that cannot be sent is the tests' error, not the run's.
        graph: list = []  # list and tree nodes among the arguments: the reply updates them in place
        message["args"] = wire.to_wire([list(args), kwargs], graph)
        reply = self.request(message)
        if "handle" in reply:
            value: Any = ProgramObject(self, int(reply["handle"]), str(message.get("name", "object")))
        else:
            try:
                value = wire.from_wire(reply.get("value"), graph, NODE_CLASSES)
            except (ValueError, TypeError, KeyError, RecursionError) as error:
                self.aborted = RunAborted("protocol", f"the run sent a malformed value ({error})")
                raise self.aborted from error
        recorder.last_value, recorder.has_value = value, True
        return value

    def function(self, name: str) -> CandidateFunction:
        return CandidateFunction(self, name)


class CandidateFunction:
    """A top-level function or class of the program; calling a class gives a :class:`ProgramObject`."""

    def __init__(self, candidate: Candidate, name: str) -> None:
        self._candidate, self.__name__ = candidate, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._candidate.invoke({"name": self.__name__}, args, kwargs)

    def __repr__(self) -> str:
        return f"<function {self.__name__} of the program>"


class ProgramObject:
    """An instance living in the program's sandbox; methods are called there, data attributes fetched as values."""

    def __init__(self, candidate: Candidate, handle: int, class_name: str) -> None:
        object.__setattr__(self, "_candidate", candidate)
        object.__setattr__(self, "_handle", handle)
        object.__setattr__(self, "_class_name", class_name)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        candidate = self._candidate
        reply = candidate.request({"handle": self._handle, "attr": name})
        if reply.get("callable"):
            return lambda *args, **kwargs: candidate.invoke({"handle": self._handle, "method": name}, args, kwargs)
        return wire.from_wire(reply.get("value"), classes=NODE_CLASSES)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("the judge cannot set attributes of the program's objects")

    def __repr__(self) -> str:
        return f"<{self._class_name} object of the program>"


def describe_failure(error: BaseException, recorder: Recorder) -> str:
    """Input, expected, actual and the program's traceback, for a failed PUBLIC test."""
    lines = []
    if recorder.last_args is not None:
        shown = [shorten(a) for a in recorder.last_args]
        shown += [f"{key}={shorten(value)}" for key, value in recorder.last_kwargs.items()]
        lines.append("Input: " + ", ".join(shown))
    if isinstance(error, ProgramRaised):
        lines.append(f"The function raised {error.kind}:\n{error.trace.strip()}")
    elif isinstance(error, AssertionError) and recorder.comparison is not None:
        actual, expected = recorder.comparison
        lines.append(f"Expected: {shorten(expected)}")
        lines.append(f"Actual: {shorten(actual)}")
        try:
            same_value = actual == expected and type(actual) is not type(expected)
        except Exception:
            same_value = False
        if same_value:
            lines.append(f"(same value but type {type(actual).__name__} instead of {type(expected).__name__})")
    elif isinstance(error, AssertionError):
        if str(error):
            lines.append(f"AssertionError: {shorten(_Shown(str(error)))}")
        if recorder.has_value:
            lines.append(f"Returned: {shorten(recorder.last_value)}")
    else:
        lines.append(f"The test failed with {type(error).__name__}: {shorten(_Shown(str(error)))}")
        if recorder.has_value:
            lines.append(f"Returned: {shorten(recorder.last_value)}")
    return "\n".join(lines)


class Outcomes:
    """Per-test results of one suite, filled by the hooks the compiled tests call."""

    def __init__(self, suite: Any, candidate: Candidate) -> None:
        self.suite = suite
        self.candidate = candidate
        self.recorder = candidate.recorder
        self.results: dict[int, dict] = {}

    def begin(self, index: int) -> None:
        self.recorder.current = index
        self.recorder.reset()
        self.candidate.test_started = time.monotonic()

    def end(self, index: int, error: BaseException | None) -> None:
        if isinstance(error, RunAborted):
            raise error
        if self.candidate.aborted is not None:  # the test swallowed the end of the run (a bare except): it failed
            raise self.candidate.aborted
        self.record(index, error)

    def record(self, index: int, error: BaseException | None, detail: str | None = None) -> None:
        if error is None:
            self.results[index] = {"status": "passed"}
            return
        public = self.suite.visibility == "public"
        kind = error.kind if isinstance(error, ProgramRaised) else type(error).__name__
        self.results[index] = {
            "status": "error" if isinstance(error, ProgramRaised) else "failed",
            "error_type": kind[:100],
            "detail": (detail if detail is not None else describe_failure(error, self.recorder)) if public else "",
        }

    def eq_hook(self, strict: bool) -> Any:
        from compare import reference_equal, strict_equal

        equal = strict_equal if strict else reference_equal
        recorder = self.recorder

        def eq(left: Any, right: Any) -> bool:
            swap = recorder.has_value and right is recorder.last_value and left is not recorder.last_value
            recorder.comparison = (right, left) if swap else (left, right)
            return equal(left, right)

        return eq

    def finish(self, aborted: RunAborted | None) -> list[dict]:
        out = []
        for index, source in enumerate(self.suite.sources):
            result = self.results.get(index)
            if result is None:
                result = {"status": "not_run"}
                if aborted is not None and index == self.recorder.current:
                    result = {"status": "failed", "error_type": aborted.reason}
            out.append({"visibility": self.suite.visibility, "source": source, **result})
        return out


_BUILT: dict[str, Any] = {}
_BUILT_MAX = 256
PREBUILT: list | SpecError | None = None


def prebuild(request: dict) -> str:
    """Parse and compile the row's tests in the judge's zygote, before it forks the run, and keep them
    for the next rows with the same tests (GRPO grades many completions of one row). Nothing of the
    tests runs here: only ``ast.parse`` and ``compile``."""
    global PREBUILT
    import suites

    key = json.dumps([request["tests"], request.get("entry_point")], sort_keys=True)
    if key not in _BUILT:
        if len(_BUILT) >= _BUILT_MAX:
            _BUILT.pop(next(iter(_BUILT)))
        try:
            _BUILT[key] = [suites.build(spec, request) for spec in request["tests"]]
        except SpecError as error:
            _BUILT[key] = error
    PREBUILT = _BUILT[key]
    return key


def serve_judge(request: dict, chan_in: int, chan_out: int, peer: tuple[int, int]) -> None:
    """Entry point of a judge run (called in the judge's sandbox); ``peer`` = pipes from/to the program's run."""
    import suites

    channel = Channel(chan_in, chan_out)
    started = time.monotonic()
    program = Channel(peer[0], peer[1], int(request["limits"].get("max_value_bytes", 1 << 22)) + 1024)
    program.drain()  # replies a killed earlier run still wrote
    while True:  # the program's names and whether it loaded, once it has (skipping what an earlier run left)
        names = channel.receive()
        if isinstance(names, dict) and names.get("run") == request.get("run") and "names" in names:
            break
    request = {**request, **names}
    deadline = started + float(request["limits"]["wall_time_s"])  # the program's wall-clock limit
    sys.modules.pop("solution", None)
    built = PREBUILT
    if built is None:
        try:
            built = [suites.build(spec, request) for spec in request["tests"]]
        except SpecError as error:
            built = error
    if isinstance(built, SpecError):
        channel.send({"spec_error": str(built)[:2000]})
        return
    recorder = Recorder()
    candidate = Candidate(channel, program, request, recorder, deadline)
    prepared = []
    for suite in built:
        try:
            suite.prepare(candidate)
        except SpecError as error:
            channel.send({"spec_error": str(error)[:2000]})
            return
        prepared.append(suite)
    channel.send({"plan": [{"visibility": s.visibility, "source": src} for s in prepared for src in s.sources]})
    outcomes: list[dict] = []
    loaded = request.get("load") == "ok"
    for suite in prepared:
        recorder.current = -1
        results = Outcomes(suite, candidate)
        aborted = candidate.aborted
        if loaded and aborted is None:
            try:
                suite.run(candidate, results, bool(request.get("strict_types", True)))
            except RunAborted as error:
                aborted = error
            except BaseException as error:  # the tests' own code failed outside any test: the tests not yet run fail
                aborted = RunAborted("tests errored", f"{type(error).__name__}: {error}")
        outcomes.extend(results.finish(aborted))
    ended = candidate.aborted
    channel.send({"done": outcomes, "aborted": [ended.reason, ended.detail] if ended is not None else None})
