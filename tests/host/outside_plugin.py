"""An outside author's plugin, written into a temporary folder and "installed" there: a package plus a
``.dist-info`` folder with its entry point, so importlib.metadata finds it the way it finds a pip
install (entry point, distribution name, version). Tests break one file at a time."""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

import pytest

from hfplug.manager import HfplugManager, set_manager

PLUGIN = """
import hfplug

@hfplug.hookimpl
def hfplug_register(registry):
    registry.trainer("{name}", "{package}.trainer:RhoTrainer", config="{package}.config:RhoConfig",
                     summary="SFT with a token-selection loss.")
    registry.data("{name}_take", "{package}.data:take", config="{package}.data:TakeConfig", summary="First k rows.")
    registry.reward("{name}_len", "{package}.rewards:length", summary="Minus the completion length.")
"""
TRAINER = """
from trl import SFTTrainer

class RhoTrainer(SFTTrainer):
    pass
"""
CONFIG = """
from dataclasses import dataclass

from trl import SFTConfig

@dataclass
class RhoConfig(SFTConfig):
    pass
"""
DATA = """
from dataclasses import dataclass

@dataclass
class TakeConfig:
    k: int = 2

def take(dataset, config, context):
    return dataset.select(range(config.k))
"""
REWARDS = """
def length(prompts, completions, **columns):
    return [-float(len(str(c))) for c in completions]
"""
FILES = {"plugin": PLUGIN, "trainer": TRAINER, "config": CONFIG, "data": DATA, "rewards": REWARDS}


class OutsidePlugins:
    """Installs outside plugins for one test (see the module docstring) and makes a fresh process-wide
    manager that loads the built-ins and only those plugins (``HFPLUG_LOAD_PLUGINS``)."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.monkeypatch = monkeypatch
        self.names: list[str] = []
        self._previous: HfplugManager | None = None
        self._replaced = False
        monkeypatch.delenv("HFPLUG_STRICT", raising=False)
        monkeypatch.delenv("HFPLUG_DISABLE_PLUGINS", raising=False)

    def install(self, name: str = "rho", version: str = "0.1.0", **replace: str) -> Path:
        """Install ``hfplug-<name>`` (package ``hfplug_<name>``, entry point ``<name>``); ``replace`` swaps a
        module's source (keys of :data:`FILES`). Returns the package folder."""
        package = f"hfplug_{name}"
        folder = self.root / package
        folder.mkdir(parents=True)
        (folder / "__init__.py").write_text("")
        for module, source in {**FILES, **replace}.items():
            text = source.replace("{name}", name).replace("{package}", package)
            (folder / f"{module}.py").write_text(textwrap.dedent(text))
        dist_info = self.root / f"{package}-{version}.dist-info"
        dist_info.mkdir()
        (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: hfplug-{name}\nVersion: {version}\n")
        (dist_info / "entry_points.txt").write_text(f"[hfplug]\n{name} = {package}.plugin\n")
        self.monkeypatch.syspath_prepend(str(self.root))
        importlib.invalidate_caches()
        self.names.append(name)
        self.monkeypatch.setenv("HFPLUG_LOAD_PLUGINS", ",".join(self.names))
        return folder

    def manager(self) -> HfplugManager:
        """A fresh manager, loaded, installed as the process-wide one (restored after the test)."""
        manager = HfplugManager().load()
        previous = set_manager(manager)
        if not self._replaced:
            self._previous, self._replaced = previous, True
        return manager

    def close(self) -> None:
        if self._replaced:
            set_manager(self._previous)
        for name in self.names:
            package = f"hfplug_{name}"
            for module in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
                del sys.modules[module]
