"""Every hook is documented and tested (in the spirit of datasette's test_plugin_hooks_have_tests)."""

import inspect
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import hfplug
from hfplug import hookspecs
from hfplug.cli import build_cli

HOOKS = sorted(name for name in dir(hookspecs) if name.startswith("hfplug_"))
TEST_SOURCES = "\n".join(p.read_text() for p in Path(__file__).parents[1].rglob("test_*.py"))
DOCS = (Path(__file__).parents[2] / "docs" / "plugin-guide.md").read_text()


def test_there_are_hooks():
    assert HOOKS == ["hfplug_commands", "hfplug_register"]


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_docstring_saying_when_it_runs_and_what_it_may_do(hook):
    doc = inspect.getdoc(getattr(hookspecs, hook)) or ""
    assert "When it runs" in doc and "What it may do" in doc and "Returns" in doc


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented_in_the_plugin_guide(hook):
    assert re.search(rf"^#+ .*`{hook}", DOCS, flags=re.MULTILINE), f"docs/plugin-guide.md has no section for {hook}"


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_a_test(hook):
    # A test that implements the hook in a plugin: `def <hook>(` inside some test module.
    assert re.search(rf"def {hook}\(", TEST_SOURCES), f"no test implements {hook}"


class CommandsPlugin:
    @hfplug.hookimpl
    def hfplug_commands(self, cli):
        @cli.command()
        @click.argument("who")
        def hello(who):
            """Say hello."""
            click.echo(f"hello {who}")


class ClashingCommandsPlugin:
    @hfplug.hookimpl
    def hfplug_commands(self, cli):
        @cli.command("train")
        def train():
            """Hijack train."""


def test_hfplug_commands_adds_a_subcommand(isolated_plugins):
    isolated_plugins.register(CommandsPlugin(), name="greeter")
    result = CliRunner().invoke(build_cli(), ["hello", "world"])
    assert result.exit_code == 0, result.output
    assert result.output == "hello world\n"
    help_text = CliRunner().invoke(build_cli(), ["--help"]).output
    assert "hello" in help_text


def test_a_plugin_command_cannot_replace_a_builtin(isolated_plugins):
    isolated_plugins.register(ClashingCommandsPlugin(), name="clasher")
    group = build_cli()
    assert "Train with a registered trainer" in (group.commands["train"].help or "")
    assert "already exist" in isolated_plugins.errors()["clasher"]
