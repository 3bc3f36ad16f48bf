"""scripts/mutate.py's settings: mutmut's timeout multiplier reaches the work dir's config, bad values are refused."""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def mutate():
    spec = importlib.util.spec_from_file_location("hfplug_mutate_script", ROOT / "scripts" / "mutate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def plugin_root(mutate, tmp_path, monkeypatch):
    """A fake repository with one plugin whose mutate.toml the test writes."""
    (tmp_path / "plugins" / "toy" / "hfplug_toy").mkdir(parents=True)
    (tmp_path / "plugins" / "toy" / "hfplug_toy" / "math.py").write_text("def f():\n    return 1\n")
    (tmp_path / "tests" / "plugins" / "toy").mkdir(parents=True)
    (tmp_path / "pyproject.toml").write_text('[tool.pytest.ini_options]\naddopts = "-q"\n')
    monkeypatch.setattr(mutate, "ROOT", tmp_path)
    return tmp_path


def write_config(root: Path, extra: str = "") -> None:
    (root / "plugins" / "toy" / "mutate.toml").write_text(
        f'core = ["hfplug_toy/math.py"]\ntests = ["tests/plugins/toy"]\n{extra}'
    )


@pytest.mark.parametrize(("extra", "expected"), [("", 15.0), ("timeout_multiplier = 60\n", 60.0)])
def test_the_work_dirs_mutmut_config_carries_the_timeout_multiplier(mutate, plugin_root, tmp_path, extra, expected):
    write_config(plugin_root, extra)
    config = mutate.load_plugin_config("toy")
    workdir = tmp_path / "work"
    workdir.mkdir()
    mutate.write_project(workdir, "hfplug_toy", config)
    written = tomllib.loads((workdir / "pyproject.toml").read_text())["tool"]["mutmut"]
    assert written["timeout_multiplier"] == expected
    assert written["only_mutate"] == ["hfplug_toy/math.py"]


@pytest.mark.parametrize("bad", ["0.5", '"60"', "true"])
def test_a_timeout_multiplier_that_is_not_a_number_of_at_least_one_is_refused(mutate, plugin_root, bad):
    write_config(plugin_root, f"timeout_multiplier = {bad}\n")
    with pytest.raises(SystemExit, match="timeout_multiplier must be a number >= 1"):
        mutate.load_plugin_config("toy")


def test_a_resumed_run_checks_again_every_checked_mutant_that_was_not_detected(mutate):
    """Survivors and "suspicious" mutants (a stopped run's kill is not a test failure) are retried; detected and
    unchecked ones are not (mutmut runs the unchecked anyway)."""
    statuses = {
        "m.survivor": "survived",
        "m.stopped": "suspicious",
        "m.killed": "killed",
        "m.slow": "timeout",
        "m.crash": "segfault",
        "m.new": "not checked",
    }
    assert mutate.undetected_checked(statuses) == ["m.stopped", "m.survivor"]
