"""The third-party libraries a sandbox may import, mounted read-only (nothing else of site-packages).

Code datasets import a few libraries: CodeIO's references import numpy (about 740 of 3,002 rows),
sympy (45) and scipy; BigCodeBench-style test modules import numpy; pytest-style test modules import
``pytest``. Both sandboxes see these packages, read-only, at :data:`MOUNTED_LIBRARIES` and nothing
else of this environment's site-packages; the judge's sandbox also sees pytest and its dependencies.
A library that is not installed is simply absent (an import of it fails in the sandbox as it would
anywhere).

What it costs: the sandbox's code can read these packages' files and run their code (compiled
extensions included) in its own process, under the same limits, without network and without any
writable folder of theirs; a vulnerability in one of them is exploitable only from inside the sandbox.
"""

from __future__ import annotations

import importlib.util
import os

MOUNTED_LIBRARIES = "/hfplug_libs"
# numpy's and scipy's wheels keep their shared libraries in a sibling folder (``numpy.libs``), found
# through a relative rpath: it is mounted beside the package.
PROGRAM_LIBRARIES = ("numpy", "scipy", "sympy", "mpmath")
JUDGE_LIBRARIES = (*PROGRAM_LIBRARIES, "pytest", "_pytest", "pluggy", "iniconfig", "packaging", "pygments", "py")


def _location(name: str) -> str | None:
    """The folder of package ``name`` (or the file of a single-module one), without importing it."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return os.path.realpath(next(iter(spec.submodule_search_locations)))
    return os.path.realpath(spec.origin) if spec.origin and os.path.isfile(spec.origin) else None


def library_paths(role: str) -> list[str]:
    """The host paths to mount for a sandbox of ``role`` (``candidate`` or ``judge``), each package's
    ``<name>.libs`` folder included; each is mounted at ``MOUNTED_LIBRARIES/<its basename>``."""
    paths = []
    for name in JUDGE_LIBRARIES if role == "judge" else PROGRAM_LIBRARIES:
        location = _location(name)
        if location is None:
            continue
        paths.append(location)
        bundled = location + ".libs"
        if os.path.isdir(bundled):
            paths.append(bundled)
    return paths
