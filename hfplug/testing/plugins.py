"""An isolated plugin manager, so tests never depend on what happens to be installed."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from hfplug.manager import HfplugManager, set_manager


@contextlib.contextmanager
def isolated_manager(*, builtins: bool = True) -> Iterator[HfplugManager]:
    """Install a fresh manager (no entry points; built-ins unless ``builtins=False``) as the
    process-wide one for the duration of the block, then restore the previous one."""
    manager = HfplugManager(entry_points=False, builtins=builtins).load()
    previous = set_manager(manager)
    try:
        yield manager
    finally:
        set_manager(previous)
