"""None of this project's distributions is on PyPI yet: `make dist` builds their wheels, and every message that
says how to install one names a route that works (an editable install from the checkout, or those wheels)."""

from __future__ import annotations

import fnmatch
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from hfplug.config import check_required_plugins
from hfplug.errors import RequirementError, UnknownComponentError
from hfplug.registry import PROJECT_DISTRIBUTIONS, Component, Registry, how_to_install

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_FOLDERS = sorted(path.parent for path in ROOT.glob("plugins/*/pyproject.toml"))


def make_dist(*arguments: str) -> subprocess.CompletedProcess:
    """`make dist` with this interpreter's environment as the venv, never re-running the set-up from a test."""
    stamp = Path(sys.prefix) / ".hfplug-installed"
    command = ["make", "--no-print-directory", "-o", str(stamp), "dist", f"VENV={sys.prefix}", *arguments]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """The folder `make dist` built hfplug's and one plugin's wheels into (all of them take minutes on 2 cores)."""
    folder = tmp_path_factory.mktemp("dist")
    result = make_dist(f"DIST={folder}", "PLUGINS=plugins/talr")
    assert result.returncode == 0, result.stdout + result.stderr
    return folder


def wheels(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def distribution_name(folder: Path) -> str:
    return tomllib.loads((folder / "pyproject.toml").read_text())["project"]["name"]


def test_make_dist_builds_the_host_and_every_plugin():
    result = make_dist("--dry-run", "DIST=dist-dry-run")
    assert result.returncode == 0, result.stderr
    command = next(line for line in result.stdout.splitlines() if "pip wheel" in line)
    built = command.split("--wheel-dir dist-dry-run ")[1].split()
    assert built == [".", *(str(folder.relative_to(ROOT)) for folder in PLUGIN_FOLDERS)]
    assert "--no-build-isolation" in command  # offline: the venv's setuptools, nothing fetched


def test_make_dist_writes_a_wheel_per_distribution_with_its_entry_point(dist):
    assert wheels(dist) == ["hfplug-0.1.0-py3-none-any.whl", "hfplug_talr-0.1.0-py3-none-any.whl"]
    with zipfile.ZipFile(dist / "hfplug_talr-0.1.0-py3-none-any.whl") as wheel:
        entry_points = wheel.read("hfplug_talr-0.1.0.dist-info/entry_points.txt").decode()
        metadata = wheel.read("hfplug_talr-0.1.0.dist-info/METADATA").decode()
        assert "hfplug_talr/plugin.py" in wheel.namelist()
    assert "[hfplug]\ntalr = hfplug_talr.plugin" in entry_points
    assert "Requires-Dist: hfplug\n" in metadata  # satisfied by the hfplug wheel beside it


def test_every_plugin_folder_is_a_known_project_distribution():
    # An unknown name's message and required_plugins say "not on PyPI" only for names listed here.
    assert {distribution_name(folder) for folder in PLUGIN_FOLDERS} | {"hfplug"} == PROJECT_DISTRIBUTIONS


@pytest.mark.parametrize("distribution", sorted(PROJECT_DISTRIBUTIONS))
def test_the_checkout_route_names_the_folder_of_that_distribution(distribution):
    folder = re.search(r"`pip install -e ([^`]+)`", how_to_install(distribution)).group(1)
    assert distribution_name(ROOT / folder) == distribution


def test_an_unknown_name_says_how_to_install_its_plugin_in_sentences(dist):
    registry = Registry()
    registry.add(Component(kind="trainer", name="sft", ref="json:dumps", summary="s", distribution="hfplug"))
    with pytest.raises(UnknownComponentError) as info:
        registry.get("trainer", "talr")
    message = str(info.value)
    assert message == (
        "No trainer named 'talr' is installed. It is provided by hfplug-talr. hfplug-talr is not on PyPI yet: "
        "install it from a checkout of the hfplug repository with `pip install -e plugins/talr`, or from the "
        "wheels that `make dist` builds there with `pip install dist/hfplug_talr-*.whl`. Installed trainers: sft."
    )
    # Both routes exist: the folder holds the distribution, and the wheel pattern matches what `make dist` built.
    assert distribution_name(ROOT / "plugins/talr") == "hfplug-talr"
    pattern = re.search(r"`pip install dist/([^`]+)`", message).group(1)
    assert fnmatch.filter(wheels(dist), pattern) == ["hfplug_talr-0.1.0-py3-none-any.whl"]


def test_an_unknown_data_transform_is_called_that():
    with pytest.raises(UnknownComponentError) as info:
        Registry().get("data", "context_free")
    message = str(info.value)
    assert message.startswith("No data transform named 'context_free' is installed.")
    assert message.endswith("Installed data transforms: (none).") and "datas" not in message


def test_required_plugins_of_this_project_say_how_to_install_them():
    with pytest.raises(RequirementError) as info:
        check_required_plugins(["hfplug-talr>=99", "not-a-real-distribution>=1"])
    message = str(info.value)
    assert "hfplug-talr>=99 (installed: hfplug-talr==" in message
    assert "hfplug-talr is not on PyPI yet" in message and "`pip install -e plugins/talr`" in message
    assert message.endswith("Install the others with: pip install 'not-a-real-distribution>=1'")
    assert "pip install 'hfplug-talr" not in message
    with pytest.raises(RequirementError, match=r"\(not installed\)\. Install them with: pip install 'not-a-real-d"):
        check_required_plugins(["not-a-real-distribution>=1"])
