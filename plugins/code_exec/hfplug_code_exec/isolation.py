"""Which isolation the machine offers, and the command line that starts a sandboxed zygote.

Levels, strongest first:

``bubblewrap``
    Linux namespaces through ``bwrap``: no network, a private PID/IPC/UTS namespace, a read-only
    root that holds only the shared libraries, the Python runtime and, of site-packages, only the
    read-only libraries that code datasets import (``sandbox_libraries``), a
    cleared environment; every run then gets its own user, mount and PID namespaces and a fresh
    tmpfs folder (see ``sandbox/zygote.py``). Started as root, the sandbox drops to an
    unprivileged uid of its own per worker; otherwise it runs as the calling user inside an
    unprivileged user namespace.
``none``
    A plain child process with rlimits and a temporary folder. Only used when the user sets the
    opt-out (``allow_unsandboxed=True`` or the environment variable below); never chosen silently.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from hfplug_code_exec.errors import IsolationUnavailableError
from hfplug_code_exec.sandbox_libraries import MOUNTED_LIBRARIES, library_paths

UNSANDBOXED_ENV = "HFPLUG_CODE_EXEC_I_ACCEPT_RUNNING_UNTRUSTED_CODE_WITHOUT_A_SANDBOX"
LEVELS = ("bubblewrap", "none")
SANDBOX_FOLDER = Path(__file__).parent / "sandbox"
MOUNTED_SANDBOX_FOLDER = "/hfplug_sandbox"


def python_runtime() -> tuple[str, str]:
    """(interpreter, prefix) of the base Python installation (not the virtual environment)."""
    prefix = os.path.realpath(sys.base_prefix)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (Path(prefix) / "bin" / version, Path(getattr(sys, "_base_executable", sys.executable))):
        if candidate.exists():
            return os.path.realpath(candidate), prefix
    return os.path.realpath(sys.executable), prefix


def bwrap_command(
    chan_in: int, chan_out: int, run_uid: int | None, role: str = "candidate", peer: tuple[int, int] | None = None
) -> list[str]:
    """The bubblewrap command line that starts the zygote of a program's sandbox or of a judge's.

    ``run_uid`` is set when we are root: the sandbox keeps only CAP_SETUID/CAP_SETGID so that the
    zygote can switch to that uid before it reads any request. The judge's sandbox has no writable
    folder at all (its root, /tmp included, is read-only) and runs its tests in a forked process per row.
    """
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise IsolationUnavailableError("bubblewrap (bwrap) is not installed.")
    interpreter, prefix = python_runtime()
    argv = [bwrap, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    argv += ["--die-with-parent", "--new-session", "--clearenv", "--setenv", "LANG", "C.UTF-8"]
    library_folders = [folder for folder in ("/usr/lib", "/usr/lib64") if os.path.isdir(folder)]
    # bwrap makes the parent /usr 0700: the sandbox's own uid could not load a shared library it had not
    # loaded as root before switching (libffi for ctypes, numpy's libstdc++, sqlite3's library).
    argv += ["--perms", "0755", "--dir", "/usr"]
    for folder in library_folders:
        argv += ["--ro-bind", folder, folder]
    for top in ("/lib", "/lib64"):
        if os.path.islink(top):
            argv += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            argv += ["--ro-bind", top, top]
    # A system Python (prefix /usr) has its standard library under /usr/lib already; any other
    # prefix (/usr/local, pyenv, conda, ...) is mounted whole.
    covered = prefix == "/usr" or any(prefix == f or prefix.startswith(f + "/") for f in library_folders)
    if not covered:
        # Parents of the runtime are created world-readable: the real ones (e.g. /root) may not be.
        parts = Path(prefix).parts[1:-1]
        for depth in range(1, len(parts) + 1):
            argv += ["--perms", "0755", "--dir", "/" + "/".join(parts[:depth])]
        argv += ["--ro-bind", prefix, prefix]
        site_packages = sysconfig.get_paths(vars={"base": prefix, "platbase": prefix})["purelib"]
        if os.path.isdir(site_packages):
            argv += ["--tmpfs", site_packages]
    argv += ["--ro-bind", interpreter, interpreter]
    argv += ["--ro-bind", str(SANDBOX_FOLDER), MOUNTED_SANDBOX_FOLDER]
    libraries = library_paths(role)
    if libraries:  # bwrap makes missing folders 0700, which the sandbox's own uid could not enter
        argv += ["--perms", "0755", "--dir", MOUNTED_LIBRARIES]
    for path in libraries:  # read-only like the rest of the root, and only these packages of site-packages
        argv += ["--ro-bind", path, f"{MOUNTED_LIBRARIES}/{os.path.basename(path)}"]
    argv += ["--proc", "/proc", "--dev", "/dev"]
    argv += ["--tmpfs", "/tmp", "--remount-ro", "/"] if role == "candidate" else ["--remount-ro", "/"]
    if run_uid is None:
        argv += ["--unshare-user"]
    else:
        argv += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    mode = "ns" if role == "candidate" else "plain"
    argv += [interpreter, "-I", "-S", f"{MOUNTED_SANDBOX_FOLDER}/zygote.py", "--mode", mode, "--role", role]
    argv += ["--chan-in", str(chan_in), "--chan-out", str(chan_out)]
    if libraries:
        argv += ["--libraries", MOUNTED_LIBRARIES]
    if peer is not None:  # the pipe pair to the other sandbox (calls and replies go straight between them)
        argv += ["--peer-in", str(peer[0]), "--peer-out", str(peer[1])]
    if run_uid is not None:
        argv += ["--uid", str(run_uid)]
    return argv


def plain_command(
    chan_in: int, chan_out: int, plain_root: str, role: str = "candidate", peer: tuple[int, int] | None = None
) -> list[str]:
    """The command line of an unsandboxed zygote (the opt-out level): the libraries from where they are."""
    interpreter, _ = python_runtime()
    folders = sorted({os.path.dirname(path) for path in library_paths(role)})
    return [
        interpreter,
        "-I",
        "-S",
        str(SANDBOX_FOLDER / "zygote.py"),
        "--mode",
        "plain",
        "--chan-in",
        str(chan_in),
        "--chan-out",
        str(chan_out),
        "--plain-root",
        plain_root,
        "--role",
        role,
        *(arg for folder in folders for arg in ("--libraries", folder)),
        *(["--peer-in", str(peer[0]), "--peer-out", str(peer[1])] if peer is not None else []),
    ]


@functools.cache
def bubblewrap_works() -> tuple[bool, str]:
    """Whether a bubblewrap sandbox with nested user namespaces starts here, and why not if it does not."""
    if shutil.which("bwrap") is None:
        return False, "bwrap is not installed (apt-get install bubblewrap)"
    run_uid = 65534 if os.geteuid() == 0 else None
    argv = bwrap_command(3, 4, run_uid)
    zygote_at = argv.index(f"{MOUNTED_SANDBOX_FOLDER}/zygote.py")
    probe = (
        "import ctypes,os;l=ctypes.CDLL(None,use_errno=True);"
        + (
            "os.setgroups([]);os.setresgid(65534,65534,65534);os.setresuid(65534,65534,65534);"
            if run_uid is not None
            else ""
        )
        + "assert l.unshare(0x10000000|0x00020000|0x20000000)==0,os.strerror(ctypes.get_errno())"
    )
    argv = [*argv[: zygote_at - 2], "-I", "-S", "-c", probe]  # same sandbox, a probe instead of the zygote
    try:
        done = subprocess.run(argv, capture_output=True, timeout=30, env={})
    except (OSError, subprocess.TimeoutExpired) as error:
        return False, f"bwrap failed to start: {error}"
    if done.returncode != 0:
        return False, "bwrap sandbox failed: " + done.stderr.decode(errors="replace").strip()[-500:]
    return True, "ok"


def allowed_unsandboxed(explicit: bool) -> bool:
    """True when the user opted out of isolation, by argument or by the loudly-named variable."""
    return explicit or os.environ.get(UNSANDBOXED_ENV, "") == "1"


def choose_level(requested: str = "auto", allow_unsandboxed: bool = False) -> str:
    """The isolation level to use, or an error that says how to get one.

    ``auto`` picks bubblewrap when it works; if it does not, running without a sandbox needs the
    explicit opt-out, otherwise this raises :class:`IsolationUnavailableError`.
    """
    if requested not in ("auto", *LEVELS):
        raise ValueError(f"isolation must be 'auto', 'bubblewrap' or 'none', got {requested!r}.")
    if requested in ("auto", "bubblewrap"):
        works, why = bubblewrap_works()
        if works:
            return "bubblewrap"
        if requested == "bubblewrap" or not allowed_unsandboxed(allow_unsandboxed):
            raise IsolationUnavailableError(
                f"No sandbox available: {why}. Install bubblewrap, or, to run untrusted code with no isolation "
                f"at all, set {UNSANDBOXED_ENV}=1 (or allow_unsandboxed=True)."
            )
        return "none"
    if not allowed_unsandboxed(allow_unsandboxed):
        raise IsolationUnavailableError(
            f"isolation='none' runs untrusted code unsandboxed; set {UNSANDBOXED_ENV}=1 (or allow_unsandboxed=True) "
            "to confirm that this is what you want."
        )
    return "none"
