"""A memory cgroup around one worker's sandbox, when the machine lets us make one.

rlimits bound each process's address space, but a run may have ``max_processes`` processes; the
cgroup bounds the memory of the whole run (its tmpfs folder included). The kernel's OOM killer
then kills inside the run, never elsewhere on the host. This layer is best effort: without a
writable memory controller (cgroup v1, or v2 with ``memory`` delegated) the pool runs without it
and says so in ``ExecutorPool.memory_cgroup``.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

V1_ROOT = Path("/sys/fs/cgroup/memory")
V2_ROOT = Path("/sys/fs/cgroup")


def _own_path(controller: str) -> str | None:
    """This process's cgroup path for ``controller`` (``""`` = the v2 unified hierarchy)."""
    with open("/proc/self/cgroup") as handle:
        for line in handle:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            if controller in controllers.split(","):
                return path
    return None


def candidate_folders(name: str) -> list[tuple[Path, int]]:
    """Where a child cgroup ``name`` of this process's memory cgroup lives: (folder, cgroup version)."""
    candidates = []
    v1_path = _own_path("memory")
    if v1_path is not None and V1_ROOT.is_dir():
        candidates.append((V1_ROOT / v1_path.lstrip("/") / name, 1))
    v2_path = _own_path("")
    if v2_path is not None and (V2_ROOT / "cgroup.controllers").exists():
        candidates.append((V2_ROOT / v2_path.lstrip("/") / name, 2))
    return candidates


def worker_cgroup_name(pid: int, role: str = "candidate") -> str:
    """The cgroup a worker process makes for one of its sandboxes (the pool cleans it up if the worker is
    killed): the program's and the judge's are apart, so the judge never eats into the program's cap."""
    return f"hfplug-code-exec-{pid}" if role == "candidate" else f"hfplug-code-exec-{role}-{pid}"


class MemoryCgroup:
    """A child cgroup of ours with a memory limit; processes are put in it at exec time."""

    def __init__(self, folder: Path, version: int) -> None:
        self.folder = folder
        self.version = version
        self._limit = -1
        # Read twice per run: a plain path and os.read (pathlib's read_text cost ~50 us a read in the worker).
        self._oom_file = str(folder / ("memory.oom_control" if version == 1 else "memory.events"))

    @classmethod
    def create(cls, name: str) -> MemoryCgroup | None:
        """Make ``name`` under this process's memory cgroup; ``None`` if the machine does not allow it."""
        for folder, version in candidate_folders(name):
            try:
                folder.mkdir(exist_ok=True)
                cgroup = cls(folder, version)
                cgroup.set_limit(256 * 1024 * 1024)  # proves the limit file is there and writable
                return cgroup
            except OSError:
                with contextlib.suppress(OSError):
                    folder.rmdir()
        return None

    def set_limit(self, limit_bytes: int) -> None:
        """Set the memory limit (no swap beyond it where the kernel offers the knob)."""
        if limit_bytes == self._limit:
            return
        if self.version == 1:
            memsw = self.folder / "memory.memsw.limit_in_bytes"
            # memsw must stay >= the memory limit: raise it first when growing, lower it after when shrinking.
            if memsw.exists() and limit_bytes > self._limit:
                with contextlib.suppress(OSError):
                    memsw.write_text(str(limit_bytes))
            (self.folder / "memory.limit_in_bytes").write_text(str(limit_bytes))
            if memsw.exists():
                with contextlib.suppress(OSError):
                    memsw.write_text(str(limit_bytes))
        else:
            (self.folder / "memory.max").write_text(str(limit_bytes))
            with contextlib.suppress(OSError):
                (self.folder / "memory.swap.max").write_text("0")
        self._limit = limit_bytes

    def oom_kills(self) -> int:
        """How many times the limit was hit (v1: OOM kills where the kernel counts them, else failed charges; v2: OOM
        kills)."""
        try:
            for line in _read_small_file(self._oom_file).splitlines():
                if line.startswith(b"oom_kill "):
                    return int(line.split()[1])
            if self.version == 1:
                return int(_read_small_file(str(self.folder / "memory.failcnt")))
        except (OSError, ValueError):
            pass
        return 0

    def enter(self) -> None:
        """Move the calling process into the cgroup (used as ``preexec_fn``: runs in the child before exec)."""
        (self.folder / "cgroup.procs").write_text(str(os.getpid()))

    def remove(self, wait_s: float = 3.0) -> bool:
        """Delete the cgroup once the sandbox's last processes have exited (they die asynchronously)."""
        return remove_when_empty(str(self.folder), wait_s)


def _read_small_file(path: str) -> bytes:
    """The first 4 KB of a file (a cgroup's counters fit)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, 4096)
    finally:
        os.close(fd)


def remove_when_empty(folder: str, wait_s: float = 3.0) -> bool:
    """rmdir a cgroup, retrying while it still holds exiting processes; True if it is gone."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            os.rmdir(folder)
            return True
        except FileNotFoundError:
            return True
        except OSError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
