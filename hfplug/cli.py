"""The ``hfplug`` command line. Heavy libraries are imported inside commands, never at the top,
so ``hfplug plugins`` and ``--help`` stay fast with every plugin installed."""

from __future__ import annotations

import copy
import json
import os
import sys
import warnings
from typing import Any

import click

from hfplug.errors import HfplugError
from hfplug.manager import get_manager

DEBUG_ENV = "HFPLUG_DEBUG"
_DEBUG_KEY = "hfplug.debug"


def debug_requested(ctx: click.Context | None = None) -> bool:
    """Whether ``--debug`` was given or ``HFPLUG_DEBUG`` is set: then errors show their traceback."""
    if ctx is not None and ctx.meta.get(_DEBUG_KEY):
        return True
    return os.environ.get(DEBUG_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def _set_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta[_DEBUG_KEY] = True


debug_option = click.option(
    "--debug",
    is_flag=True,
    expose_value=False,
    callback=_set_debug,
    help="Show the full traceback of an error (also: HFPLUG_DEBUG=1).",
)


def error_message(exc: BaseException) -> str:
    """The one message a user sees for ``exc``: hfplug's own errors as they are; anything else with a
    pointer to the traceback, since it is likely a bug (ours, a plugin's or a library's)."""
    text = f"{type(exc).__name__}: {exc}".rstrip(": ")
    if isinstance(exc, HfplugError):
        return text
    return f"{text}\n(Unexpected error: run again with --debug or {DEBUG_ENV}=1 to see the traceback.)"


class HfplugGroup(click.Group):
    """A click group that turns any error into one clean message and exit code 1; with ``--debug`` or
    ``HFPLUG_DEBUG=1`` the exception propagates with its traceback instead."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:
            if debug_requested(ctx):
                raise
            raise click.ClickException(error_message(exc)) from exc


@click.group(cls=HfplugGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hfplug")
@debug_option
def cli() -> None:
    """hfplug: research methods for post-training and decoding, as plugins for transformers/trl."""


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--requirements", is_flag=True, help="Print name==version lines for pip.")
@click.option(
    "--check",
    is_flag=True,
    help="Also import every registered reference and config (slow: imports torch); exit 1 if any fails.",
)
def plugins(as_json: bool, requirements: bool, check: bool) -> None:
    """List installed plugins, their components and load errors."""
    manager = get_manager()
    infos = list(manager.plugins.values())
    if requirements:
        seen = set()
        for info in infos:
            if info.distribution and info.version and not info.builtin and info.distribution not in seen:
                seen.add(info.distribution)
                click.echo(f"{info.distribution}=={info.version}")
        return
    problems, checked = [], 0
    if check:
        from hfplug.checks import check_plugins

        problems, checked = check_plugins(manager)
    if as_json:
        entries = [info.as_dict() for info in infos]
        if check:
            click.echo(json.dumps({"plugins": entries, "problems": [p.as_dict() for p in problems]}, indent=2))
        else:
            click.echo(json.dumps(entries, indent=2))
    else:
        _print_plugin_table(manager, infos, show_errors=not check)
    if check:
        if not as_json:
            click.echo(f"\nChecked {checked} components of {len(infos)} plugins: {len(problems)} problem(s).")
            for problem in problems:
                click.echo(f"  {problem}")
        if problems:
            sys.exit(1)


def _print_plugin_table(manager: Any, infos: list[Any], *, show_errors: bool) -> None:
    rows = [("plugin", "distribution", "version", "components")]
    for info in infos:
        summary = "; ".join(f"{kind}: {', '.join(names)}" for kind, names in info.as_dict()["components"].items())
        rows.append((info.name, info.distribution or "-", info.version or "-", summary or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3])
    errors = manager.errors()
    if errors and show_errors:
        click.echo("\nPlugins that failed to load, or parts of them that were refused:")
        for message in errors.values():
            click.echo(f"  {message}")
        click.echo("Run `hfplug plugins --check` to also import every component.")


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--config", "config_path", type=click.Path(), help="YAML config: trainer, model, dataset, fields.")
@debug_option
@click.pass_context
def train(ctx: click.Context, config_path: str | None) -> None:
    """Train with a registered trainer. Any trainer/TrainingArguments field can be given as
    --field value and overrides the config file (e.g. --max_steps 10 --learning_rate 1e-4)."""
    from hfplug.config import parse_train_config
    from hfplug.train import run_training

    setup = parse_train_config(config_path, ctx.args)
    result = run_training(setup)
    click.echo(f"Saved to {result.output_dir}")
    if result.pushed_to:
        click.echo(f"Pushed to {result.pushed_to}")


@cli.group()
def assets() -> None:
    """Offline models and datasets shipped in pip packages (asset:NAME)."""


@assets.command("list")
def assets_list() -> None:
    """List registered assets and whether they are prepared."""
    from hfplug.assets import get_asset

    registry = get_manager().registry
    for name in registry.names("asset"):
        component = registry.get("asset", name)
        try:
            state = "prepared" if get_asset(name).is_prepared() else "not prepared"
        except HfplugError as exc:
            state = f"unavailable ({exc})"
        click.echo(f"asset:{name}  [{state}]  {component.summary}")


@assets.command("prepare")
@click.argument("names", nargs=-1, required=True)
@click.option("--force", is_flag=True, help="Rebuild even if already prepared.")
def assets_prepare(names: tuple[str, ...], force: bool) -> None:
    """Prepare assets once into the cache (e.g. de-quantise a GGUF model)."""
    from hfplug.assets import get_asset

    for name in names:
        folder = get_asset(name).prepare(force=force)
        click.echo(f"asset:{name.removeprefix('asset:')} -> {folder}")


@assets.command("path")
@click.argument("name")
def assets_path(name: str) -> None:
    """Print the local path of a prepared asset (preparing it if needed)."""
    from hfplug.assets import get_asset

    click.echo(get_asset(name).path())


@cli.command()
@click.option("--model", "model_path", required=True, help="Model folder, Hub id, or asset:NAME.")
@click.option("--prompt", required=True, help="The user message (or raw text with --no-chat).")
@click.option("--strategy", default=None, help="A registered generation strategy (see `hfplug plugins`).")
@click.option("--max-new-tokens", default=128, show_default=True, type=int)
@click.option("--do-sample/--greedy", default=False, show_default=True)
@click.option("--temperature", default=None, type=float)
@click.option("--chat/--no-chat", default=True, show_default=True, help="Wrap the prompt in the chat template.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE", help="Extra generate() keyword (JSON value).")
@click.option(
    "--compile",
    "compile_step",
    is_flag=True,
    help="Pass compile=True to the strategy: its compiled static decode step (hispec, self_spec, greedy).",
)
@debug_option
def generate(
    model_path: str,
    prompt: str,
    strategy: str | None,
    max_new_tokens: int,
    do_sample: bool,
    temperature: float | None,
    chat: bool,
    seed: int,
    options: tuple[str, ...],
    compile_step: bool,
) -> None:
    """Generate a completion for one prompt, optionally with a plugin's decoding strategy."""
    from hfplug.generate import generate_text

    extra = _key_values(options, "--option", _json_or_text)
    if temperature is not None:
        extra["temperature"] = temperature
    if compile_step:
        if not strategy:
            raise click.UsageError("--compile is an option of a strategy's decode loop: add --strategy (e.g. hispec).")
        extra["compile"] = True
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        text = generate_text(
            model_path,
            prompt,
            strategy=strategy,
            max_new_tokens=max_new_tokens,
            do_sample=do_sample,
            chat=chat,
            seed=seed,
            **extra,
        )
    click.echo(text)
    _report_warnings(caught)


def _report_warnings(caught: list[warnings.WarningMessage]) -> None:
    """A strategy's advice (a ``UserWarning``, e.g. "this model's early exits look untrained") as one
    ``warning:`` line on stderr, once; other warnings as Python shows them."""
    said = set()
    for warning in caught:
        if issubclass(warning.category, UserWarning) and str(warning.message) not in said:
            said.add(str(warning.message))
            click.echo(f"warning: {warning.message}", err=True)
        elif not issubclass(warning.category, UserWarning):
            warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)


@cli.command("data")
@click.argument("name")
@click.argument("settings", nargs=-1, metavar="[KEY=VALUE]...")
@click.option("--dataset", "dataset_spec", required=True, help="asset:NAME, a data file, a saved dataset, a Hub id.")
@click.option("--output", required=True, type=click.Path(), help="Folder to save the result (save_to_disk).")
@click.option("--model", "model_path", default=None, help="Base model for transforms that need one.")
@click.option("--split", default="train", show_default=True)
@click.option("--set", "params", multiple=True, metavar="KEY=VALUE", help="A parameter of the transform (YAML value).")
@click.option("--seed", default=42, show_default=True, type=int)
@debug_option
def data_command(
    name: str,
    settings: tuple[str, ...],
    dataset_spec: str,
    output: str,
    model_path: str | None,
    split: str,
    params: tuple[str, ...],
    seed: int,
) -> None:
    """Apply a registered data transform to a dataset and save the result.

    Parameters go as KEY=VALUE after the name or with --set KEY=VALUE (values are YAML).
    """
    import yaml

    from hfplug.transforms import apply_transform

    parsed = _key_values(settings + params, "KEY=VALUE", yaml.safe_load)
    result = apply_transform(name, dataset_spec, parsed, output=output, model_path=model_path, split=split, seed=seed)
    click.echo(f"{len(result)} rows, columns {', '.join(result.column_names)} -> {output}")


def _key_values(items: tuple[str, ...], param_hint: str, decode: Any) -> dict[str, Any]:
    """``KEY=VALUE`` options into a dict, each value passed through ``decode``."""
    values = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint=param_hint)
        values[key] = decode(value)
    return values


def _json_or_text(value: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def _add_optional_commands(group: click.Group) -> None:
    try:
        from hfplug.hub_cli import push
    except ImportError:  # the hub module is optional during development
        return
    group.add_command(push)


_add_optional_commands(cli)


def build_cli() -> click.Group:
    """A fresh command tree: the built-in commands plus every plugin's subcommands."""
    group = copy.copy(cli)
    group.commands = dict(cli.commands)
    get_manager().add_commands(group)
    return group


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``hfplug`` console script."""
    try:
        command = build_cli()
    except HfplugError as exc:  # strict mode: a broken plugin is fatal
        click.echo(f"Error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
    command.main(args=argv, prog_name="hfplug")
