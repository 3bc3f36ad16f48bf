"""hfplug hooks: the two rewards and the ``hfplug eval humaneval`` command (nothing heavy imported here)."""

from __future__ import annotations

import click

import hfplug


@hfplug.hookimpl
def hfplug_register(registry) -> None:
    registry.reward(
        "unit_tests",
        "hfplug_code_exec.rewards:unit_tests",
        summary="Fraction of unit tests passed, run in a sandboxed executor pool (HumanEval format).",
    )
    registry.reward(
        "unit_tests_all",
        "hfplug_code_exec.rewards:unit_tests_all",
        summary="1 if every unit test passes, else 0, run in a sandboxed executor pool.",
    )


@hfplug.hookimpl
def hfplug_commands(cli: click.Group) -> None:
    from hfplug_code_exec.cli import humaneval_command

    group = cli.commands.get("eval")
    if group is None:
        group = click.Group("eval", help="Evaluate models on benchmarks.")
        cli.add_command(group)
    if not isinstance(group, click.Group):
        raise click.UsageError("the 'eval' command of another plugin is not a group; cannot add 'humaneval'.")
    group.add_command(humaneval_command)
