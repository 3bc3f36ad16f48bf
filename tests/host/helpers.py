"""Helpers shared by the host tests: fake entry points and throwaway plugin modules."""

from __future__ import annotations

import sys
import textwrap
from importlib import metadata
from pathlib import Path

import pytest

from hfplug import manager as manager_module


def write_module(folder: Path, name: str, source: str) -> None:
    """Write an importable module ``name`` into ``folder`` (which is put on sys.path)."""
    (folder / f"{name}.py").write_text(textwrap.dedent(source))
    sys.modules.pop(name, None)


def fake_entry_points(monkeypatch: pytest.MonkeyPatch, folder: Path, plugins: dict[str, str]) -> None:
    """Make ``importlib.metadata.entry_points(group="hfplug")`` return ``name -> module`` entries."""
    monkeypatch.syspath_prepend(str(folder))
    entries = [metadata.EntryPoint(name=name, value=module, group="hfplug") for name, module in plugins.items()]

    def entry_points(*, group: str):
        return entries if group == "hfplug" else []

    monkeypatch.setattr(manager_module.metadata, "entry_points", entry_points)
