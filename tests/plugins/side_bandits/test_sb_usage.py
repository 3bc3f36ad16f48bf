"""Registry names, the CLI, saving/loading results as a dataset, plots, and a push with its card."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hfplug_side_bandits import POLICIES, load_results, plugin, save_results, simulate

import hfplug
from hfplug.cli import build_cli

INF = math.inf


def test_components_are_registered(isolated_plugins):
    isolated_plugins.register(plugin, name="side_bandits")
    registry = isolated_plugins.registry
    names = registry.names("model")
    assert "side_bandits" in names
    assert {f"side_bandits.{p}" for p in POLICIES} <= set(names)


def test_registry_objects_work_from_python():
    bandit_class = hfplug.load("model", "side_bandits")
    bandit = bandit_class.named("revealer")
    assert bandit.lower_bound().value == pytest.approx(12.5)
    for name, cls in POLICIES.items():
        assert hfplug.load("model", f"side_bandits.{name}") is cls
        assert hfplug.load_config("model", f"side_bandits.{name}") is cls.config_class
    result = bandit.simulate(hfplug.load("model", "side_bandits.ucb_n")(exploration=1.0), 50, 2, progress=False)
    assert result.policy == "ucb_n" and result.options == {"exploration": 1.0}


def test_results_round_trip_through_a_dataset(tmp_path, revealer_instance):
    means, sigma = revealer_instance
    results = [simulate(p, means, sigma, 200, [2, 5], progress=False) for p in ("lp_tracking", "thompson")]
    folder = save_results(results, tmp_path / "run")
    dataset = results[0].to_dataset()
    assert dataset.column_names == ["policy", "seed", "horizon", "rounds", "regret", "pulls", "options"]
    loaded = load_results(folder)
    for before, after in zip(results, loaded, strict=True):
        assert after.policy == before.policy and after.seeds == before.seeds
        np.testing.assert_array_equal(after.pulls, before.pulls)
        np.testing.assert_allclose(after.regret, before.regret)
    record = json.loads((folder / "hfplug_run.json").read_text())
    assert record["bound"]["value"] == pytest.approx(2.0)
    with pytest.raises(hfplug.errors.HfplugError, match="already exists"):
        save_results(results, folder)  # nothing is overwritten by accident
    assert load_results(folder)[0].policy == "lp_tracking"


def test_cli_bound_simulate_plot(tmp_path):
    cli = build_cli()
    runner = CliRunner()
    bound = runner.invoke(
        cli,
        [
            "bandits",
            "bound",
            "--means",
            "1,0.5,0",
            "--sigma",
            "[[1, inf, inf], [inf, 1, inf], [0.5, 0.5, 0.5]]",
            "--json",
        ],
    )
    assert bound.exit_code == 0, bound.output
    assert json.loads(bound.output)["value"] == pytest.approx(2.0)
    out = tmp_path / "sim"
    args = ["bandits", "simulate", "--instance", "revealer", "--horizon", "100", "--seeds", "2", "--policy", "ucb_n"]
    args += ["--policy", "lp_tracking", "--option", "lp_tracking.gamma=0.2", "--output", str(out), "--no-progress"]
    simulated = runner.invoke(cli, args)
    assert simulated.exit_code == 0, simulated.output
    assert "C* = 12.5" in simulated.output and "lp_tracking" in simulated.output
    assert load_results(out)[1].options["gamma"] == 0.2
    plotted = runner.invoke(cli, ["bandits", "plot", str(out), "--output", str(tmp_path / "png")])
    assert plotted.exit_code == 0, plotted.output
    assert (tmp_path / "png" / "regret.png").stat().st_size > 1000
    assert (tmp_path / "png" / "rates.png").stat().st_size > 1000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bound", "--means", "1,0.5", "--sigma", "[[1, 1, 1]]"], "ConfigError: sigma must be square"),
        (["bound", "--instance", "revealr"], "Did you mean 'revealer'"),
        (
            ["simulate", "--instance", "revealer", "--horizon", "0", "--output", "X"],
            "horizon must be a positive integer",
        ),
        (["simulate", "--instance", "revealer", "--policy", "ucb2", "--output", "X"], "unknown policy 'ucb2'"),
        (["simulate", "--instance", "revealer", "--option", "gamma=1", "--output", "X"], "POLICY.KEY=VALUE"),
    ],
)
def test_cli_bad_input_is_one_clean_line(args, message, tmp_path):
    args = [str(tmp_path / a) if a == "X" else a for a in args]
    result = CliRunner().invoke(build_cli(), ["bandits", *args])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "X").exists()  # nothing written


def test_push_results_with_a_card(local_hub, tmp_path, revealer_instance):
    from datasets import load_dataset
    from hfplug_side_bandits import push_results
    from huggingface_hub import hf_hub_download

    means, sigma = revealer_instance
    folder = simulate("ucb_n", means, sigma, 50, 2, progress=False).save(tmp_path / "run")
    repo = local_hub.repo_id("side-bandits-run")
    push_results(folder, repo)
    pulled = load_dataset(repo, split="train")
    assert sorted(pulled["seed"]) == [0, 1]
    card = Path(hf_hub_download(repo, "README.md", repo_type="dataset")).read_text()
    assert "hfplug-side-bandits" in card and "C* (lower bound on R_T / log T)" in card
