"""``hfplug bandits bound|simulate|plot|instances``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from hfplug.errors import ConfigError


def _instance_options(function):
    function = click.option("--sigma", help="K x K noise stds as YAML/JSON ('inf' = nothing), or a file holding it.")(
        function
    )
    function = click.option("--means", help="Comma-separated arm means, e.g. 1,0.8,0.2.")(function)
    return click.option("--instance", "instance_name", help="A named instance (hfplug bandits instances).")(function)


def _parse_means(text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(value) for value in text.split(",")]
    except ValueError:
        raise ConfigError(f"--means must be comma-separated numbers, got {text!r}.") from None


def _parse_sigma(text: str | None) -> Any:
    import yaml

    if text is None:
        return None
    source = Path(text).read_text() if Path(text).is_file() else text
    try:
        return yaml.safe_load(source)
    except yaml.YAMLError as error:
        raise ConfigError(f"--sigma is neither a file nor valid YAML/JSON: {error}") from None


def _resolve(instance_name: str | None, means: str | None, sigma: str | None) -> tuple[list[float], Any]:
    from hfplug_side_bandits.config import SimulationConfig

    config = SimulationConfig(instance=instance_name, means=_parse_means(means), sigma=_parse_sigma(sigma))
    return config.resolve_instance()


@click.group("bandits")
def bandits() -> None:
    """Gaussian bandits with side information: lower bound, simulations, plots (hfplug-side-bandits)."""


@bandits.command("instances")
def instances_command() -> None:
    """List the named instances."""
    from hfplug_side_bandits.instances import INSTANCES

    for name, build in INSTANCES.items():
        click.echo(f"{name}: {build().description}")


@bandits.command("bound")
@_instance_options
@click.option("--json", "as_json", is_flag=True, help="Print the bound as JSON.")
def bound_command(instance_name: str | None, means: str | None, sigma: str | None, as_json: bool) -> None:
    """The asymptotic lower bound C* (R_T / log T) and the rates c* of the LP."""
    from hfplug_side_bandits.bound import lower_bound

    bound = lower_bound(*_resolve(instance_name, means, sigma))
    if as_json:
        click.echo(json.dumps(bound.as_dict(), indent=2))
        return
    click.echo(f"C* = {bound.value:.6g}  (optimal arm {bound.optimal_arm}, LP solves: {bound.lp_solves})")
    click.echo("arm  gap       c*_i")
    for arm, (gap, rate) in enumerate(zip(bound.gaps, bound.rates, strict=True)):
        click.echo(f"{arm:<4} {gap:<9.4g} {rate:.6g}")


@bandits.command("simulate")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="YAML with SimulationConfig fields.")
@_instance_options
@click.option("--horizon", type=int, help="Rounds per run [10000].")
@click.option("--seeds", type=int, help="Number of seeds [20].")
@click.option("--policy", "policies", multiple=True, help="Policy to run (repeatable) [all].")
@click.option(
    "--option", "option_items", multiple=True, metavar="POLICY.KEY=VALUE", help="A policy option (YAML value)."
)
@click.option("--output", required=True, type=click.Path(file_okay=False), help="Folder for the results dataset.")
@click.option("--overwrite", is_flag=True, help="Replace an existing results folder.")
@click.option("--progress/--no-progress", default=True, show_default=True)
def simulate_command(
    config_path: str | None,
    instance_name: str | None,
    means: str | None,
    sigma: str | None,
    horizon: int | None,
    seeds: int | None,
    policies: tuple[str, ...],
    option_items: tuple[str, ...],
    output: str,
    overwrite: bool,
    progress: bool,
) -> None:
    """Simulate policies and save the results as a dataset (push it with `hfplug push OUTPUT REPO`)."""
    from hfplug_side_bandits.config import load_simulation_config
    from hfplug_side_bandits.instance import make_instance
    from hfplug_side_bandits.policies import make_policy
    from hfplug_side_bandits.results import save_results
    from hfplug_side_bandits.simulator import check_horizon, check_seeds, simulate

    overrides = {
        "instance": instance_name,
        "means": _parse_means(means),
        "sigma": _parse_sigma(sigma),
        "horizon": horizon,
        "seeds": seeds,
        "policies": list(policies) or None,
    }
    config = load_simulation_config(config_path or "", overrides)
    for policy, key, value in _policy_options(option_items):
        config.options.setdefault(policy, {})[key] = value
    instance_means, instance_sigma = config.resolve_instance()
    instance = make_instance(instance_means, instance_sigma)  # every check before the first round
    check_horizon(config.horizon)
    check_seeds(config.seeds)
    for policy in config.policies:
        make_policy(policy, config.options.get(policy)).start(instance, 1)
    target = Path(output)
    if target.exists() and any(target.iterdir()) and not overwrite:
        raise ConfigError(f"{target} already exists and is not empty; pass --overwrite or choose another --output.")
    results = [
        simulate(
            policy,
            instance_means,
            instance_sigma,
            config.horizon,
            config.seeds,
            options=config.options.get(policy),
            checkpoints=config.checkpoints,
            progress=progress,
        )
        for policy in config.policies
    ]
    save_results(results, target, overwrite=overwrite)
    _print_summary(results)
    click.echo(f"Saved {len(results)} policies x {len(results[0].seeds)} seeds to {target}")


def _policy_options(items: tuple[str, ...]) -> list[tuple[str, str, Any]]:
    import yaml

    parsed = []
    for item in items:
        name, sep, value = item.partition("=")
        policy, dot, key = name.partition(".")
        if not sep or not dot or not policy or not key:
            raise ConfigError(f"--option {item!r} must look like POLICY.KEY=VALUE, e.g. lp_tracking.gamma=0.1.")
        parsed.append((policy, key, yaml.safe_load(value)))
    return parsed


def _print_summary(results) -> None:
    bound = results[0].bound
    if bound is not None:
        click.echo(f"C* = {bound.value:.4g}")
    click.echo(f"{'policy':<12} {'R_T':>18} {'R_T / log T':>18}")
    for result in results:
        s = result.summary()
        regret = f"{s['regret']:.2f} +- {s['regret_ci95']:.2f}"
        ratio = f"{s['regret_over_log']:.3f} +- {s['regret_over_log_ci95']:.3f}"
        click.echo(f"{result.policy:<12} {regret:>18} {ratio:>18}")


@bandits.command("plot")
@click.argument("results_dir", type=click.Path(file_okay=False))
@click.option("--output", type=click.Path(file_okay=False), help="Folder for the PNGs [RESULTS_DIR].")
def plot_command(results_dir: str, output: str | None) -> None:
    """Draw regret.png (regret vs T, log axis, C* log T) and rates.png (N_i(T)/log T vs c*_i)."""
    from hfplug_side_bandits.plots import plot_rates, plot_regret
    from hfplug_side_bandits.results import load_results

    results = load_results(results_dir)
    folder = Path(output or results_dir)
    for path in (plot_regret(results, folder / "regret.png"), plot_rates(results, folder / "rates.png")):
        click.echo(f"Wrote {path}")
