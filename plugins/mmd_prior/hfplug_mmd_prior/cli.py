"""``hfplug mmd-ae train | eval | traverse``. Heavy imports happen inside the commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from hfplug.errors import ConfigError


@click.group("mmd-ae")
def mmd_ae_group() -> None:
    """Autoencoders with programmable MMD priors (arXiv:2510.11953): train, evaluate, look inside."""


@mmd_ae_group.command("train", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--config", "config_path", type=click.Path(), help="YAML config (trainer: mmd_ae is implied).")
@click.pass_context
def train_command(ctx: click.Context, config_path: str | None) -> None:
    """Train with the mmd_ae trainer; any config field can be given as --field value."""
    from hfplug.config import parse_train_config, read_config_file
    from hfplug.train import run_training

    raw_trainer = read_config_file(config_path).get("trainer") if config_path else None
    if raw_trainer not in (None, "mmd_ae"):
        raise ConfigError(
            f"trainer: this command trains 'mmd_ae', the config names {raw_trainer!r}; use `hfplug train`."
        )
    arguments = list(ctx.args)
    if "--trainer" not in arguments and not any(a.startswith("--trainer=") for a in arguments):
        arguments += ["--trainer", "mmd_ae"]
    result = run_training(parse_train_config(config_path, arguments))
    click.echo(f"Saved to {result.output_dir}")
    if result.pushed_to:
        click.echo(f"Pushed to {result.pushed_to}")


def _dataset_options(command: Any) -> Any:
    command = click.option("--dataset", "dataset_spec", required=True, help="asset:mnist, asset:digits, a file ...")(
        command
    )
    command = click.option("--split", default="test", show_default=True, help="Split to encode.")(command)
    command = click.option("--column", default="pixel_values", show_default=True, help="Input column.")(command)
    command = click.option("--max-examples", default=10000, show_default=True, help="Encode at most this many.")(
        command
    )
    return command


@mmd_ae_group.command("eval")
@click.argument("model_path")
@_dataset_options
@click.option(
    "--regressor",
    "regressors",
    multiple=True,
    default=("mlp", "gbm"),
    show_default=True,
    help="LPS regressor(s): mlp, gbm, linear.",
)
@click.option("--lps-samples", default=5000, show_default=True, help="Codes used by LPS (random subset).")
@click.option("--seed", default=0, show_default=True)
@click.option("--save-latents", type=click.Path(), default=None, help="Write the codes (.npy/.pt/.safetensors).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def eval_command(
    model_path: str,
    dataset_spec: str,
    split: str,
    column: str,
    max_examples: int,
    regressors: tuple[str, ...],
    lps_samples: int,
    seed: int,
    save_latents: str | None,
    as_json: bool,
) -> None:
    """Encode a dataset with MODEL_PATH; print LPS, covariance ratio and reconstruction NMSE (dB)."""
    from hfplug_mmd_prior.evaluation import evaluate_autoencoder

    results = evaluate_autoencoder(
        model_path,
        dataset_spec,
        split=split,
        column=column,
        max_examples=max_examples,
        regressors=regressors,
        lps_samples=lps_samples,
        seed=seed,
        save_latents=save_latents,
        progress=not as_json,
    )
    if as_json:
        click.echo(json.dumps(results, indent=2))
        return
    click.echo(f"{results['examples']} examples of {dataset_spec} ({split}), latent_dim {results['latent_dim']}")
    click.echo(f"  NMSE              {results['nmse_db']:8.2f} dB")
    click.echo(f"  covariance ratio  {results['covariance_ratio']:8.3f}")
    for regressor in regressors:
        click.echo(f"  LPS ({regressor + ')':<7}     {results[f'lps_{regressor}']:8.3f}")
    if save_latents:
        click.echo(f"codes written to {save_latents}")


@mmd_ae_group.command("traverse")
@click.argument("model_path")
@_dataset_options
@click.option("--output", required=True, type=click.Path(file_okay=False), help="Folder for the PNG files.")
@click.option("--steps", default=9, show_default=True, help="Values per dimension in the traversal grid.")
@click.option("--anchor", default=0, show_default=True, help="Index of the example whose code is traversed.")
@click.option("--prior", "prior_spec", default=None, help="Prior to draw against (name or JSON); default: the model's.")
@click.option("--seed", default=0, show_default=True)
def traverse_command(
    model_path: str,
    dataset_spec: str,
    split: str,
    column: str,
    max_examples: int,
    output: str,
    steps: int,
    anchor: int,
    prior_spec: str | None,
    seed: int,
) -> None:
    """Write traversal.png (decoded codes, one dimension varied per row) and marginals.png."""
    from hfplug_mmd_prior.evaluation import traverse_autoencoder

    written = traverse_autoencoder(
        model_path,
        dataset_spec,
        Path(output),
        split=split,
        column=column,
        max_examples=max_examples,
        steps=steps,
        anchor=anchor,
        prior_spec=prior_spec,
        seed=seed,
    )
    for path in written:
        click.echo(str(path))
