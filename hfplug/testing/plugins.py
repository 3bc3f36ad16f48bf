"""An isolated plugin manager, so tests never depend on what happens to be installed."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from hfplug.manager import HfplugManager, set_manager


@contextlib.contextmanager
def isolated_manager(*, builtins: bool = True, raise_on_register: bool = True) -> Iterator[HfplugManager]:
    """Install a fresh manager (no entry points; built-ins unless ``builtins=False``) as the
    process-wide one for the duration of the block, then restore the previous one.

    Its ``register(plugin, name=...)`` raises :class:`~hfplug.errors.PluginLoadError` with the cause when
    the plugin's hook fails or a component clashes, so a plugin's tests see the error itself; pass
    ``raise_errors=False`` to ``register`` (or ``raise_on_register=False`` here) to test that a broken
    plugin is recorded instead (``manager.errors()``)."""
    manager = HfplugManager(entry_points=False, builtins=builtins, raise_on_register=raise_on_register).load()
    previous = set_manager(manager)
    try:
        yield manager
    finally:
        set_manager(previous)
