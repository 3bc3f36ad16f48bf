"""The plugin registers its components, and each strategy folder is a self-contained
``custom_generate`` repo (what ``push`` uploads and plain transformers loads from the Hub)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hfplug_hispec import plugin
from hfplug_hispec.strategy_folders import strategy_folder

import hfplug


def test_components_are_registered(isolated_plugins):
    isolated_plugins.register(plugin, name="hispec")
    registry = isolated_plugins.registry
    assert {"hispec", "self_spec", "greedy"} <= set(registry.names("generation"))
    assert registry.get("trainer", "early_exit").config == "hfplug_hispec.early_exit.config:EarlyExitConfig"


@pytest.mark.parametrize("name", ["hispec", "self_spec", "greedy"])
def test_registry_and_package_name_the_same_folder(name):
    # The layer-choice helper and the benchmark load strategies by path (no registry needed there).
    assert Path(hfplug.load("generation", name)) == strategy_folder(name)


def test_unknown_strategy_folder_is_named():
    with pytest.raises(ValueError, match="Unknown early-exit strategy 'beam'"):
        strategy_folder("beam")


@pytest.mark.parametrize("name", ["hispec", "self_spec", "greedy"])
def test_strategy_folder_needs_nothing_but_torch_and_transformers(name):
    folder = Path(hfplug.load("generation", name))
    code = folder / "custom_generate"
    assert (code / "generate.py").is_file()
    # 5.0.0 is the oldest transformers these folders were tested with (the whole plugin test suite).
    assert (code / "requirements.txt").read_text().split() == ["torch>=2.5", "transformers>=5.0,<6"]
    assert (folder / "README.md").is_file()
    for source in code.glob("*.py"):
        tree = ast.parse(source.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                assert (code / f"{node.module}.py").is_file(), f"{source.name} imports a missing sibling {node.module}"
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                roots = (
                    {alias.name.split(".")[0] for alias in node.names}
                    if isinstance(node, ast.Import)
                    else {node.module.split(".")[0]}
                )
                assert roots <= {
                    "torch",
                    "transformers",
                    "__future__",
                    "dataclasses",
                    "typing",
                    "collections",
                    "inspect",
                    "logging",
                    "itertools",
                    "warnings",
                }, f"{source.name} imports {roots}"


@pytest.mark.parametrize("name", ["hispec", "self_spec", "greedy"])
def test_generate_imports_every_module_of_its_folder_itself(name):
    # transformers before 5.10 copies only generate.py's own relative imports into its modules cache.
    code = Path(hfplug.load("generation", name)) / "custom_generate"
    tree = ast.parse((code / "generate.py").read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 1}
    assert imported == {path.stem for path in code.glob("*.py")} - {"generate"}
