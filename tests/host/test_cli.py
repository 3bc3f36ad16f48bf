import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

import hfplug
from hfplug.cli import build_cli
from hfplug.manager import HfplugManager, set_manager

from .helpers import fake_entry_points, write_module
from .test_manager import GOOD, HOOK_ERROR, IMPORT_ERROR


@pytest.fixture
def broken_environment(tmp_path, monkeypatch):
    """A process-wide manager that sees one good and two broken plugins."""
    write_module(tmp_path, "hp_good", GOOD)
    write_module(tmp_path, "hp_import_error", IMPORT_ERROR)
    write_module(tmp_path, "hp_hook_error", HOOK_ERROR)
    fake_entry_points(monkeypatch, tmp_path, {"good": "hp_good", "imp": "hp_import_error", "hook": "hp_hook_error"})
    monkeypatch.delenv("HFPLUG_STRICT", raising=False)
    previous = set_manager(HfplugManager())
    yield
    set_manager(previous)


def test_plugins_table_shows_errors_and_working_plugins(broken_environment):
    result = CliRunner().invoke(build_cli(), ["plugins"])
    assert result.exit_code == 0, result.output
    assert "trainer: good" in result.output and "trainer: dpo, grpo, sft" in result.output
    assert "Plugins that failed to load" in result.output
    assert "module_that_does_not_exist_anywhere" in result.output and "plugin bug in register" in result.output


def test_plugins_json(broken_environment):
    result = CliRunner().invoke(build_cli(), ["plugins", "--json"])
    data = {entry["name"]: entry for entry in json.loads(result.output)}
    assert data["good"]["components"] == {"trainer": ["good"]} and data["good"]["error"] is None
    assert "failed to import" in data["imp"]["error"]
    assert data["builtin-trl-trainers"]["distribution"] == "hfplug"


def test_strict_mode_cli_fails(broken_environment, monkeypatch):
    monkeypatch.setenv("HFPLUG_STRICT", "1")
    set_manager(HfplugManager())
    with pytest.raises(hfplug.PluginLoadError):
        build_cli()


def test_plugins_requirements_lists_installed_plugin_distributions():
    result = CliRunner().invoke(build_cli(), ["plugins", "--requirements"])
    assert result.exit_code == 0
    lines = result.output.split()
    assert all("==" in line and line.startswith("hfplug-") for line in lines)


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["plugins", "--help"],
        ["train", "--help"],
        ["assets", "--help"],
        ["assets", "list", "--help"],
        ["assets", "prepare", "--help"],
        ["generate", "--help"],
    ],
)
def test_help_everywhere(args):
    result = CliRunner().invoke(build_cli(), args)
    assert result.exit_code == 0 and "Usage:" in result.output


def test_plugins_command_does_not_import_torch():
    code = (
        "import sys; from hfplug.cli import main\n"
        "try:\n    main(['plugins', '--json'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'transformers', 'trl', 'datasets') if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy), file=sys.stderr)\n"
    )
    env = {**os.environ, "HFPLUG_STRICT": "1"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert "HEAVY=\n" in done.stderr, done.stderr[-2000:]
    plugins = json.loads(done.stdout)
    assert all(entry["error"] is None for entry in plugins)


class EchoStrategyPlugin:
    @hfplug.hookimpl
    def hfplug_register(self, registry):
        registry.generation("echo_first", "tests.host:strategies/echo_first", summary="Repeats the last prompt token.")


def test_generate_with_a_registered_strategy(tmp_path, tiny_model, tiny_tokenizer, isolated_plugins):
    isolated_plugins.register(EchoStrategyPlugin(), name="echo")
    folder = tmp_path / "m"
    tiny_model.save_pretrained(folder)
    tiny_tokenizer.save_pretrained(folder)
    args = ["generate", "--model", str(folder), "--prompt", "fox", "--no-chat", "--max-new-tokens", "3"]
    result = CliRunner().invoke(build_cli(), [*args, "--strategy", "echo_first"])
    assert result.exit_code == 0, result.output
    last_token = tiny_tokenizer.decode(tiny_tokenizer("fox")["input_ids"][-1:])
    assert result.stdout.strip() == last_token * 3
    unknown = CliRunner().invoke(build_cli(), [*args, "--strategy", "echo_frist"])
    assert unknown.exit_code == 1 and "Did you mean 'echo_first'" in unknown.output
