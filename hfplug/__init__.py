"""hfplug: research methods as pip-installable plugins for the Hugging Face stack.

Discovery never imports torch; components are imported when they are used::

    import hfplug
    hfplug.names("trainer")                 # ['dpo', 'grpo', 'sft', 'talr', ...]
    TALRTrainer = hfplug.load("trainer", "talr")
    TALRConfig = hfplug.load_config("trainer", "talr")
    folder = hfplug.load("generation", "hispec")   # model.generate(custom_generate=folder, ...)
"""

from __future__ import annotations

from typing import Any

import pluggy

from hfplug.cpu_threads import default_to_passive_waiting
from hfplug.errors import (
    AssetError,
    ConfigError,
    DatasetError,
    DuplicateComponentError,
    HfplugError,
    HubError,
    PluginLoadError,
    RequirementError,
    UnknownComponentError,
)
from hfplug.registry import KINDS, Component

__version__ = "0.1.0"

# Before anything imports torch: its OpenMP threads then sleep instead of spinning while they wait (see cpu_threads).
default_to_passive_waiting()

hookimpl = pluggy.HookimplMarker("hfplug")

__all__ = [
    "KINDS",
    "AssetError",
    "Component",
    "ConfigError",
    "DatasetError",
    "DuplicateComponentError",
    "HfplugError",
    "HubError",
    "PluginLoadError",
    "RequirementError",
    "UnknownComponentError",
    "__version__",
    "generation_path",
    "get",
    "hookimpl",
    "load",
    "load_config",
    "names",
    "trainer",
]


def _registry():
    from hfplug.manager import get_manager

    return get_manager().registry


def get(kind: str, name: str) -> Component:
    """The registered component (name, kind, summary, paper, distribution, version)."""
    return _registry().get(kind, name)


def load(kind: str, name: str) -> Any:
    """The component's object, imported now: a trainer class, a reward callable, a model class,
    a data transform, an :class:`~hfplug.assets.Asset`, or for ``generation`` a folder path."""
    return get(kind, name).load()


def load_config(kind: str, name: str) -> type | None:
    """The component's config dataclass, or ``None`` when it has none."""
    return get(kind, name).load_config()


def names(kind: str) -> list[str]:
    """Installed names of one kind, sorted."""
    return _registry().names(kind)


def trainer(name: str) -> Any:
    """Shortcut for ``load("trainer", name)``."""
    return load("trainer", name)


def generation_path(name: str) -> str:
    """Shortcut for ``load("generation", name)``: a folder for ``generate(custom_generate=...)``."""
    return load("generation", name)
