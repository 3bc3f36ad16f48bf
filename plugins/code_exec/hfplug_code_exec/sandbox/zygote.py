"""The process that lives inside the sandbox and starts one run per request (stdlib only).

It is started once per worker (inside bubblewrap when isolation is on), imports the common
standard-library modules (and, once a request's code names them, numpy and pytest: see
``_preload``), and then for every request forks a run:

* ``ns`` mode: the run's first process is cloned into new user, mount, PID and IPC namespaces (PID 1
  of its own PID namespace), mounts a fresh size-limited tmpfs as its working folder, hides
  ``/proc``, drops every capability and forks the program, which sets the rlimits and only then
  executes the program's code; PID 1 stays as its reaper.
  The zygote is invisible from inside the run (so it cannot be signalled or traced), and killing
  PID 1 makes the kernel kill every process of the run, double-forked daemons included.
* ``plain`` mode (no isolation; only with the explicit opt-out): a forked child in its own
  session, in a fresh temporary folder, with the same rlimits; cleanup is by process group.

Control messages come on stdin and go out on stdout, one JSON object per line. The run talks
to the judge over a separate pair of pipes (``--chan-in``/``--chan-out``); the program's own
stdout/stderr go to a pipe that this process reads, keeping at most the configured bytes/lines.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import select
import signal
import sys
import time
import traceback
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# Imported here so that a run does not pay for them: forked runs inherit them.
import bisect  # noqa: F401
import collections  # noqa: F401
import contextlib
import functools  # noqa: F401
import gc
import heapq  # noqa: F401
import itertools  # noqa: F401
import math  # noqa: F401
import re  # noqa: F401
import string  # noqa: F401
import typing  # noqa: F401

import wire

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REC, MS_PRIVATE = 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 4, 24, 38
RUN_FOLDER = "/tmp"

_libc = ctypes.CDLL(None, use_errno=True)
_libc_holding_the_gil = ctypes.PyDLL(None, use_errno=True)  # for clone: os.fork keeps the GIL across fork too
_libc_holding_the_gil.syscall.restype = ctypes.c_long
SYS_CLONE = {"x86_64": 56, "aarch64": 220}.get(os.uname().machine)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    _check(
        _libc.mount(
            source.encode(),
            target.encode(),
            fstype.encode() if fstype else None,
            flags,
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


# Made here, once: two classes made in each run cost it type creation and the copies of the zygote heap pages
# that it writes (about 0.2 ms of CPU per run, measured).
_NO_CAPABILITIES = (_CapData * 2)()


def _drop_capabilities() -> None:
    """Empty the bounding set and the effective/permitted/inheritable sets of this process."""
    for cap in range(64):
        if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() == 22:  # EINVAL: past the last cap
            break
    header = _CapHeader(0x20080522, 0)
    data = _NO_CAPABILITIES
    _check(_libc.capset(ctypes.byref(header), ctypes.byref(data)), "capset")
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


def _fork_into_namespaces() -> int:
    """``os.fork()`` whose child starts in new user, mount, PID and IPC namespaces, as their PID 1: one
    process fewer per run than forking, unsharing and forking again (the child of ``unshare`` is the
    first to enter a new PID namespace). Python's own fork hooks run around the clone, as in ``os.fork``."""
    if SYS_CLONE is None:
        raise OSError(f"the sandbox does not know the clone system call of {os.uname().machine}")
    flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | signal.SIGCHLD
    ctypes.pythonapi.PyOS_BeforeFork()
    pid = _libc_holding_the_gil.syscall(*(ctypes.c_long(v) for v in (SYS_CLONE, flags, 0, 0, 0, 0)))
    if pid == 0:
        ctypes.pythonapi.PyOS_AfterFork_Child()
        return 0
    errno = ctypes.get_errno()
    ctypes.pythonapi.PyOS_AfterFork_Parent()
    if pid < 0:
        raise OSError(errno, f"clone: {os.strerror(errno)}")
    return pid


def _set_limits(limits: dict) -> None:
    memory = int(limits["memory_mb"]) * 1024 * 1024
    cpu = max(1, int(limits["cpu_time_s"] + 0.999))
    for which, value in (
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),
        (resource.RLIMIT_AS, (memory, memory)),
        (resource.RLIMIT_NPROC, (limits["max_processes"],) * 2),
        (resource.RLIMIT_FSIZE, (int(limits["max_file_mb"]) * 1024 * 1024,) * 2),
        (resource.RLIMIT_NOFILE, (limits["max_open_files"],) * 2),
        (resource.RLIMIT_CORE, (0, 0)),
        (resource.RLIMIT_MEMLOCK, (0, 0)),
    ):
        resource.setrlimit(which, value)


def _exit_code(status: int) -> int:
    """A wait status as a shell-style exit code (128 + signal number when killed by a signal)."""
    return 128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _short_traceback(error: BaseException, limit_chars: int = 1500) -> str:
    """The program's part of a traceback: harness frames are cut off, the text is trimmed."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == "<solution>"]
    text = "".join(traceback.format_list(frames[-5:])) + "".join(traceback.format_exception_only(error))
    return text if len(text) <= limit_chars else "..." + text[-limit_chars:]


MAX_NAMES = 200
# Names a program may use without defining them, as on LeetCode (whose stubs annotate with them).
PREDEFINED = {"ListNode": wire.ListNode, "TreeNode": wire.TreeNode}


def _names(namespace: dict) -> dict:
    """The program's top-level functions and classes (what tests may call), by kind."""
    names = {}
    for name, value in namespace.items():
        if len(names) >= MAX_NAMES or name.startswith("__") or not callable(value) or PREDEFINED.get(name) is value:
            continue
        names[name[:100]] = "class" if isinstance(value, type) else "function"
    return names


def _target(namespace: dict, objects: list, request: dict):
    """What a call request names: a top-level function or class, a method of an object made earlier,
    or, as APPS/TACO harnesses do for ``fn_name``, a method of a fresh ``Solution()``."""
    if "handle" in request:
        return getattr(objects[int(request["handle"])], str(request.get("method") or request.get("attr")))
    name = str(request["name"])
    if name in namespace:
        return namespace[name]
    solution = namespace.get("Solution")
    if isinstance(solution, type) and hasattr(solution, name):
        return getattr(solution(), name)
    raise NameError(f"the program defines no function or class {name!r}")


def _answer(request: dict, namespace: dict, objects: list, code, limits: dict) -> dict:
    call = request["call"]
    try:
        if "stdio" in request:
            return {"call": call, **_run_stdio(code, str(request["stdio"]), float(request.get("timeout", 10)), limits)}
        target = _target(namespace, objects, request)
        if "attr" in request:
            return (
                {"call": call, "callable": True} if callable(target) else {"call": call, "value": wire.to_wire(target)}
            )
        graph: list = []  # the arguments' list and tree nodes: sent back with the value, as the program left them
        args, kwargs = wire.from_wire(request["args"], graph)
        value = target(*args, **kwargs)
        if isinstance(target, type) and "handle" not in request:  # a constructor: the object stays here
            objects.append(value)
            return {"call": call, "handle": len(objects) - 1}
    except BaseException as error:
        return {"call": call, "error": _short_traceback(error), "type": type(error).__name__}
    try:
        return {"call": call, "value": wire.to_wire(value, graph)}
    except wire.UnsupportedValue as error:
        message = f"{error}; only None, bool, int, float, str, bytes, complex, list, tuple, dict, set and nodes can"
        return {"call": call, "error": message, "type": "UnsupportedReturnValue"}
    except BaseException as error:
        return {"call": call, "error": _short_traceback(error), "type": type(error).__name__}


def _run_stdio(code, text: str, timeout: float, limits: dict) -> dict:
    """Run the whole program as ``__main__`` in a forked child with ``text`` on stdin; capture stdout."""
    stdin_path = "stdin.txt"
    with open(stdin_path, "w") as handle:
        handle.write(text)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(out_r)
            os.close(err_r)
            fd = os.open(stdin_path, os.O_RDONLY)
            os.dup2(fd, 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            sys.stdin = open(0, closefd=False)  # noqa: SIM115
            sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
            sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
            status = 0
            try:
                exec(code, {"__name__": "__main__", "__builtins__": __builtins__})
            except SystemExit as done:
                status = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
            except BaseException as error:
                sys.stderr.write(_short_traceback(error))
                sys.stderr.write("\n__type__:" + type(error).__name__)
                status = 1
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:
            status = 1
        os._exit(status)
    os.close(out_w)
    os.close(err_w)
    deadline = time.monotonic() + timeout
    cap = int(limits["max_output_bytes"])
    output, errors, status = bytearray(), bytearray(), "exited"
    open_fds = [out_r, err_r]
    while open_fds:
        ready, _, _ = select.select(open_fds, [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            status = "timed out"
            break
        for fd in ready:
            chunk = os.read(fd, wire.READ_CHUNK)
            if not chunk:
                open_fds.remove(fd)
            elif fd == out_r:
                output += chunk
            else:
                errors += chunk[: max(0, 8192 - len(errors))]
        if len(output) > cap:
            status = "exceeded the output limit"
            break
    if status != "exited":
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _, wait_status = os.waitpid(pid, 0)
    os.close(out_r)
    os.close(err_r)
    error_text = bytes(errors).decode("utf-8", "replace")
    error_type = ""
    if "\n__type__:" in error_text:
        error_text, _, error_type = error_text.rpartition("\n__type__:")
    return {
        "stdout": bytes(output[:cap]).decode("utf-8", "replace"),
        "stderr": error_text[-2000:],
        "error_type": error_type[:100],
        "exit": _exit_code(wait_status),
        "status": status,
    }


def serve_program(request: dict, options: types.SimpleNamespace) -> None:
    """Load the program and say so to the worker, then answer the judge's calls (inside the run).

    Calls come straight from the judge's sandbox on the peer pipes when there are any, else from
    the worker's channel."""
    chan_out = options.chan_out
    calls_in, replies_out = (options.peer_in, options.peer_out) if options.peer_in >= 0 else (options.chan_in, chan_out)
    reader = wire.LineBuffer(calls_in)
    if options.peer_in >= 0:
        reader.drain()  # what an earlier run left in the peer pipe (this run starts before any call of its own)
    namespace: dict = {"__name__": "__solution__", "__builtins__": __builtins__, **PREDEFINED}
    stdio = request.get("mode") == "stdio"
    try:
        code = compile(request["program"], "<solution>", "exec")
        if not stdio:  # a stdin/stdout program runs once per test instead, as __main__
            exec(code, namespace)
    except BaseException as error:  # the program may raise anything, SystemExit included
        _write_all(
            chan_out,
            wire.encode_line({"load": "error", "error": _short_traceback(error), "type": type(error).__name__}),
        )
        return
    _write_all(chan_out, wire.encode_line({"load": "ok", "names": _names(namespace)}))
    objects: list = []
    while True:
        line = reader.readline()
        if not line:
            return
        reply = _answer(json.loads(line), namespace, objects, code, request["limits"])
        _write_all(replies_out, wire.encode_line(reply))


def _run_body(request: dict, options: types.SimpleNamespace, out_w: int) -> None:
    """Common tail of a run in both modes: fds, limits, then the program."""
    devnull = os.open("/dev/null", os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(out_w, 1)
    os.dup2(out_w, 2)
    os.close(devnull)
    low = 3
    for fd in sorted(
        {options.chan_in, options.chan_out, options.peer_in, options.peer_out} - {-1}
    ):  # all but the channels
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 1 << 16)
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115  (line-buffered, over the new fd)
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    _set_limits(request["limits"])
    # Everything up to here is the sandbox's doing; from now on failures are the program's.
    _write_all(options.chan_out, wire.encode_line({"setup": "ok"}))
    serve_program(request, options)


def _start_ns_run(request: dict, options: types.SimpleNamespace, out_w: int) -> tuple[int, int]:
    """Start a run in fresh namespaces; returns its PID (the run's PID 1) twice: the process to wait for
    and the one to kill (killing a PID namespace's first process kills every process in it)."""
    uid, gid = os.getuid(), os.getgid()
    pid = _fork_into_namespaces()
    if pid:
        return pid, pid
    try:
        _libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # the zygote is not dumpable; this child must own its /proc files
        # The run's processes count against this limit from the first one on; a user namespace the program
        # makes records its maker's limit as the cap for everything below it, so it cannot lift it either.
        nproc = int(request["limits"]["max_processes"])
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as handle:
                handle.write(text)
        _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "pdeathsig")
        _mount("none", "/", None, MS_REC | MS_PRIVATE, None)
        size_kb = int(request["limits"]["folder_mb"]) * 1024
        _mount("tmpfs", RUN_FOLDER, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size_kb}k,mode=0700")
        _mount("tmpfs", "/proc", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, "size=4k")
        os.chdir(RUN_FOLDER)
        _drop_capabilities()
        # PID 1 ignores signals it has no handler for (SIGXCPU, a program's kill of itself), so the
        # program runs as PID 2 under this small reaper, which exits with the program's status.
        program = os.fork()
        if program == 0:
            _run_body(request, options, out_w)
            os._exit(0)
        _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
        while True:
            pid, status = os.wait()
            if pid == program:
                os._exit(_exit_code(status))
    except BaseException:
        traceback.print_exc()
    os._exit(0)


def _start_plain_run(request: dict, options: types.SimpleNamespace, out_w: int) -> tuple[int, int]:
    """Fork an unisolated run in its own session and temporary folder (removed when the run ends)."""
    import tempfile  # here, not at the top: the opt-out level only (each module held makes every fork dearer)

    folder = tempfile.mkdtemp(prefix="run-", dir=options.plain_root)
    options.run_folder = folder
    pid = os.fork()
    if pid:
        return pid, pid
    try:
        os.setsid()
        os.chdir(folder)
        _run_body(request, options, out_w)
    except BaseException:
        traceback.print_exc()
    os._exit(0)


class _JudgeProcess:
    """The process that runs a row's tests: forked fresh for a new row, kept for the next run of the
    same row (GRPO grades many completions of one row), killed whenever a run did not end normally."""

    def __init__(self, request: dict, options: types.SimpleNamespace, key: str) -> None:
        self.key = key
        self.out_r, out_w = os.pipe()
        next_r, self.next_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            try:
                os.close(self.out_r)
                os.close(self.next_w)
                os.setsid()
                os.chdir(options.plain_root or "/")
                _judge_child(request, options, out_w, next_r)
            except BaseException:
                traceback.print_exc()
            os._exit(0)
        os.close(out_w)
        os.close(next_r)
        self.pidfd = os.pidfd_open(self.pid)

    def next_run(self, request: dict) -> None:
        _write_all(self.next_w, wire.encode_line(request))

    def kill(self) -> int:
        """Kill and reap the process; its exit code."""
        _kill(self.pid, "plain")
        _, status = os.waitpid(self.pid, 0)
        for fd in (self.pidfd, self.out_r, self.next_w):
            os.close(fd)
        return _exit_code(status)


def _judge_child(request: dict, options: types.SimpleNamespace, out_w: int, next_r: int) -> None:
    import judge

    devnull = os.open("/dev/null", os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(out_w, 1)
    os.dup2(out_w, 2)
    os.close(devnull)
    keep = sorted({options.chan_in, options.chan_out, next_r, options.peer_in, options.peer_out} - {-1})
    low = 3
    for fd in keep:  # close every inherited fd but the channel and the next-run pipe
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 1 << 16)
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115  (line-buffered, over the new fd)
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    limits = dict(request["limits"])
    budget = max(1, int(limits["cpu_time_s"] + 0.999))
    limits["cpu_time_s"] = 10**6  # set per run below: the process serves several runs
    _set_limits(limits)
    runs = wire.LineBuffer(next_r)
    while True:
        used = resource.getrusage(resource.RUSAGE_SELF)
        spent = int(used.ru_utime + used.ru_stime) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (spent + budget, 10**6))
        _write_all(options.chan_out, wire.encode_line({"setup": "ok", "run": request.get("run")}))
        judge.serve_judge(request, options.chan_in, options.chan_out, (options.peer_in, options.peer_out))
        sys.stdout.flush()
        line = runs.readline()
        if not line:
            return
        request = json.loads(line)


def _serve_judge_runs(options: types.SimpleNamespace, control: wire.LineBuffer) -> None:
    """The judge zygote's loop: one row's runs go to one judge process; any other row gets a fresh one.

    A run that ended normally needs no word from the worker (the process waits for the next run); the
    worker sends ``stop`` only after a run that did not (the process is killed, ``done`` answers). If
    the process dies by itself, ``ended`` says so at once."""
    import judge

    process: _JudgeProcess | None = None
    while True:
        watch = [control.fd] if process is None else [control.fd, process.out_r, process.pidfd]
        ready = [control.fd] if control.buffer else select.select(watch, [], [])[0]
        if process is not None and process.out_r in ready:
            os.read(process.out_r, wire.READ_CHUNK)  # tests may print: read and thrown away
        if process is not None and process.pidfd in ready:
            _write_all(1, wire.encode_line({"op": "ended", "exit": process.kill()}))
            process = None
        if control.fd not in ready:
            continue
        line = control.readline()
        if not line:
            break
        request = json.loads(line)
        if request.get("op") == "stop":
            code = process.kill() if process is not None else None
            process = None
            _write_all(1, wire.encode_line({"op": "done", "exit": code, "limit": None, "output": ""}))
            continue
        if request.get("op") != "run":
            continue
        _preload(json.dumps(request["tests"]))
        key = judge.prebuild(request)
        if process is not None and process.key != key:
            process.kill()
            process = None
        if process is None:
            process = _JudgeProcess(request, options, key)
        else:
            process.next_run(request)
    if process is not None:
        process.kill()


def _wait_run(run_pid: int, kill_pid: int, out_r: int, control: wire.LineBuffer, limits: dict, mode: str) -> dict:
    """Collect output and wait for the run to end, the judge to say stop, or an output cap to trip."""
    pidfd = os.pidfd_open(run_pid)
    output = bytearray()
    lines = 0
    reason = None
    deadline = time.monotonic() + float(limits["wall_time_s"]) + 5.0  # the judge stops us first normally
    watch = [pidfd, out_r, control.fd]
    while True:
        if control.buffer:
            ready = [control.fd]
        else:
            ready, _, _ = select.select(watch, [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            reason = reason or "wall"
            _kill(kill_pid, mode)
            deadline = time.monotonic() + 5.0
        if out_r in ready:
            chunk = os.read(out_r, wire.READ_CHUNK)
            if not chunk:
                watch.remove(out_r)
            elif reason is None:
                room = int(limits["max_output_bytes"]) - len(output)
                output += chunk[: max(0, room)]
                lines += chunk.count(b"\n")
                if room < len(chunk) or lines > int(limits["max_output_lines"]):
                    reason = "output"
                    _kill(kill_pid, mode)
        if control.fd in ready:
            line = control.readline()
            if not line or json.loads(line).get("op") == "stop":
                _kill(kill_pid, mode)
                if not line:
                    sys.exit(0)
        if pidfd in ready:
            _, status = os.waitpid(run_pid, 0)
            os.close(pidfd)
            if mode == "plain":
                _kill(kill_pid, mode)
            code = _exit_code(status)
            break
    while reason is None and out_r in watch and select.select([out_r], [], [], 0)[0]:
        chunk = os.read(out_r, wire.READ_CHUNK)  # what the run wrote just before it ended
        if not chunk:
            break
        output += chunk[: max(0, int(limits["max_output_bytes"]) - len(output))]
    os.close(out_r)
    text = bytes(output[: int(limits["max_output_bytes"])]).decode("utf-8", "replace")
    kept = "\n".join(text.split("\n")[: int(limits["max_output_lines"])])
    return {"op": "done", "exit": code, "limit": reason, "output": kept}


def _kill(pid: int, mode: str) -> None:
    try:
        if mode == "plain":
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


# One thread per numerical library: a run's threads count against its process limit.
THREAD_ENVIRONMENT = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
# Libraries this process imports, once, as soon as a request's code mentions them: numpy's import costs
# several runs, pytest's one. Not at start: every library loaded here makes each fork dearer (numpy adds
# about 0.7 ms per fork, so 2 ms per run), which runs that never use it would pay.
PRELOADABLE = {"candidate": ("numpy",), "judge": ("numpy", "pytest")}
_preloadable: tuple[str, ...] = ()


def _import_libraries(folders: list[str], role: str) -> None:
    """Make the read-only libraries importable (those absent stay absent)."""
    global _preloadable
    for name, value in THREAD_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    sys.path.extend(folders)
    _preloadable = PRELOADABLE[role] if folders else ()


def _preload(code: str) -> None:
    """Import the preloadable libraries that ``code`` names (only their names decide; nothing of the code
    runs here), so that the forked runs find them loaded."""
    for name in _preloadable:
        if name not in sys.modules and name in code:
            with contextlib.suppress(ImportError):
                __import__(name)
            _freeze()


def _freeze() -> None:
    """Move every object made so far out of the garbage collector's reach: a run's collection would
    otherwise visit, and so copy, every page of this process's heap (10 ms with numpy loaded, 25 ms
    with pytest as well) instead of sharing it."""
    gc.collect()
    gc.freeze()


OPTIONS = {
    "mode": None,
    "chan_in": None,
    "chan_out": None,
    "uid": -1,
    "plain_root": None,
    "role": "candidate",
    "peer_in": -1,
    "peer_out": -1,
}
"""The zygote's options and their defaults."""
REQUIRED_OPTIONS = ("mode", "chan_in", "chan_out")
NUMBER_OPTIONS = ("chan_in", "chan_out", "uid", "peer_in", "peer_out")
CHOICES = {"mode": ("ns", "plain"), "role": ("candidate", "judge")}


def parse_options(argv: list[str]) -> types.SimpleNamespace:
    """This process's command line, as ``isolation.py`` writes it: ``--name value`` pairs, ``--libraries`` (read-only
    folders of libraries to import) repeated. Not with argparse: its 1.3 MB of heap would make every fork dearer."""
    values: dict = {**OPTIONS, "libraries": []}
    if len(argv) % 2:
        raise SystemExit(f"zygote: expected --name value pairs, got {argv}")
    for flag, value in zip(argv[::2], argv[1::2], strict=True):
        name = flag[2:].replace("-", "_")
        if not flag.startswith("--") or name not in values:
            raise SystemExit(f"zygote: unknown option {flag}")
        if name == "libraries":
            values[name].append(value)
        elif name in NUMBER_OPTIONS:
            if not value.lstrip("-").isdigit():
                raise SystemExit(f"zygote: {flag} takes a number, got {value!r}")
            values[name] = int(value)
        else:
            values[name] = value
    missing = [name for name in REQUIRED_OPTIONS if values[name] is None]
    wrong = [f"{name}={values[name]}" for name, allowed in CHOICES.items() if values[name] not in allowed]
    if missing or wrong:
        raise SystemExit(f"zygote: missing {missing}, not allowed {wrong}")
    return types.SimpleNamespace(**values)


def main() -> None:
    options = parse_options(sys.argv[1:])
    if options.uid >= 0:  # started as root inside bubblewrap: become the unprivileged run user for good
        os.setgroups([])
        os.setresgid(options.uid, options.uid, options.uid)
        os.setresuid(options.uid, options.uid, options.uid)
    _import_libraries(options.libraries, options.role)
    _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)  # no /proc/<pid>/mem access to this process, even for its uid
    if options.role == "judge":  # imported once here, so that a forked judge run does not pay for them
        import ast  # noqa: F401

        import compare  # noqa: F401
        import judge  # noqa: F401
        import suites  # noqa: F401
    _freeze()
    control = wire.LineBuffer(0)
    _write_all(1, wire.encode_line({"op": "hello", "uid": os.getuid(), "pid": os.getpid()}))
    if options.role == "judge":
        _serve_judge_runs(options, control)
        return
    while True:
        line = control.readline()
        if not line:
            return
        request = json.loads(line)
        if request.get("op") != "run":
            continue
        out_r, out_w = os.pipe()
        start, mode = (_start_ns_run, "ns") if options.mode == "ns" else (_start_plain_run, "plain")
        _preload(request["program"])
        run_pid, kill_pid = start(request, options, out_w)
        os.close(out_w)  # the worker learns that the run started from the run itself ("setup" on its channel)
        reply = _wait_run(run_pid, kill_pid, out_r, control, request["limits"], mode)
        if options.mode == "plain":
            import shutil  # the opt-out level only, as tempfile

            shutil.rmtree(options.run_folder, ignore_errors=True)
        _write_all(1, wire.encode_line(reply))


if __name__ == "__main__":
    main()
