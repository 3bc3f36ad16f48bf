"""`hfplug mmd-ae train | eval | traverse` from a YAML config, and pushing with a provenance card."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from hfplug_mmd_prior import MMDAutoencoder
from hfplug_mmd_prior.model import PAPER

from hfplug.cli import build_cli
from hfplug.testing import write_jsonl


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A model trained by `hfplug mmd-ae train` on 4x4 'images' (16 values in [0, 1])."""
    folder = tmp_path_factory.mktemp("cli")
    values = np.random.default_rng(0).uniform(0, 1, size=(96, 16)).round(3)
    data = write_jsonl(folder / "squares.jsonl", [{"pixel_values": row.tolist()} for row in values])
    config = folder / "run.yaml"
    config.write_text(
        f"dataset: {data}\noutput_dir: {folder / 'out'}\nlatent_dim: 3\nhidden_sizes: [16]\n"
        "per_device_train_batch_size: 32\nmax_steps: 3\nreport_to: none\nsave_strategy: 'no'\nuse_cpu: true\n"
        "prior: {name: uniform, low: -2, high: 2}\n"
    )
    result = CliRunner().invoke(build_cli(), ["mmd-ae", "train", "--config", str(config), "--learning_rate", "1e-3"])
    assert result.exit_code == 0, result.output
    return folder, data


def test_train_writes_a_loadable_model_with_provenance(trained):
    folder, _ = trained
    model = MMDAutoencoder.from_pretrained(folder / "out")
    assert (model.latent_dim, model.input_shape, model.prior_spec["name"]) == (3, (16,), "uniform")
    info = json.loads((folder / "out" / "hfplug_run.json").read_text())
    assert info["trainer"]["name"] == "mmd_ae" and info["trainer"]["distribution"] == "hfplug-mmd-prior"
    assert info["config"]["learning_rate"] == 1e-3
    assert not (folder / "out" / "tokenizer_config.json").exists()


def test_eval_prints_lps_covariance_ratio_and_nmse(trained, tmp_path):
    folder, data = trained
    arguments = ["mmd-ae", "eval", str(folder / "out"), "--dataset", str(data), "--split", "train"]
    result = CliRunner().invoke(
        build_cli(), [*arguments, "--regressor", "gbm", "--save-latents", str(tmp_path / "z.npy")]
    )
    assert result.exit_code == 0, result.output
    assert "NMSE" in result.output and "covariance ratio" in result.output and "LPS (gbm)" in result.output
    result = CliRunner().invoke(build_cli(), [*arguments, "--regressor", "gbm", "--json"])
    scores = json.loads(result.stdout)
    assert scores["examples"] == 96 and np.isfinite(scores["nmse_db"]) and scores["covariance_ratio"] > 0
    assert np.load(tmp_path / "z.npy").shape == (96, 3)


def test_traverse_writes_the_grid_and_the_marginals(trained, tmp_path):
    folder, data = trained
    arguments = ["mmd-ae", "traverse", str(folder / "out"), "--dataset", str(data), "--split", "train"]
    result = CliRunner().invoke(build_cli(), [*arguments, "--output", str(tmp_path / "png"), "--steps", "5"])
    assert result.exit_code == 0, result.output
    for name in ("traversal.png", "marginals.png"):
        assert (tmp_path / "png" / name).read_bytes()[:4] == b"\x89PNG"


def test_cli_errors_are_one_line(trained, tmp_path):
    folder, data = trained
    result = CliRunner().invoke(
        build_cli(), ["mmd-ae", "eval", str(folder / "out"), "--dataset", str(data), "--regressor", "svm"]
    )
    assert result.exit_code == 1 and "ConfigError" in result.output and "svm" in result.output
    assert "Traceback" not in result.output
    result = CliRunner().invoke(build_cli(), ["mmd-ae", "eval", str(tmp_path), "--dataset", str(data)])
    assert result.exit_code == 1 and "not an mmd_ae folder" in result.output


def test_push_to_hub_records_the_plugin_and_loads_back(local_hub, tmp_path):
    model = MMDAutoencoder(input_shape=[16], latent_dim=3, architecture="mlp", hidden_sizes=[8], prior="uniform")
    repo_id = local_hub.repo_id("mmd-ae")
    model.push_to_hub(repo_id, metrics={"lps_gbm": 0.05})
    from huggingface_hub import hf_hub_download

    card = Path(hf_hub_download(repo_id, "README.md")).read_text()
    assert "hfplug-mmd-prior" in card and "arXiv:2510.11953" in card and "lps_gbm" in card
    reloaded = MMDAutoencoder.from_pretrained(repo_id)
    inputs = torch.rand(4, 16)
    torch.testing.assert_close(reloaded.eval().encode(inputs), model.eval().encode(inputs))
    assert reloaded.prior_spec == "uniform"


def test_hfplug_push_of_a_trained_folder_names_the_trainer(trained, local_hub):
    from huggingface_hub import hf_hub_download

    from hfplug.hub import push

    folder, _ = trained
    repo_id = local_hub.repo_id("trained")
    push(folder / "out", repo_id)
    card = Path(hf_hub_download(repo_id, "README.md")).read_text()
    assert "hfplug-mmd-ae" in card and "Trained with the **mmd_ae** trainer" in card


def test_push_to_hub_hands_its_folder_and_every_option_to_hfplugs_push(monkeypatch):
    from importlib import metadata

    import hfplug.hub

    model = MMDAutoencoder(input_shape=[4], latent_dim=2, architecture="mlp", hidden_sizes=[8], prior="uniform")
    seen = {}

    def fake_push(folder, repo_id, **options):
        seen.update(repo_id=repo_id, options=options, files=sorted(p.name for p in Path(folder).iterdir()))
        seen["run"] = Path(folder, "hfplug_run.json").read_text()
        return "commit-url"

    monkeypatch.setattr(hfplug.hub, "push", fake_push)
    options = {"private": True, "token": "t", "branch": "dev", "commit_message": "m", "create_pr": True}
    assert model.push_to_hub("me/ae", metrics={"lps": 0.1}, **options) == "commit-url"
    assert seen["repo_id"] == "me/ae" and {"config.json", "model.safetensors", "hfplug_run.json"} <= set(seen["files"])
    assert seen["options"] == {
        "private": True,
        "token": "t",
        "revision": "dev",
        "commit_message": "m",
        "create_pr": True,
    }
    version = metadata.version("hfplug-mmd-prior")
    assert json.loads(seen["run"]) == {
        "hfplug_version": hfplug.__version__,
        "components": [
            {"kind": "model", "name": "mmd_ae", "distribution": "hfplug-mmd-prior", "version": version, "paper": PAPER}
        ],
        "config": json.loads(json.dumps(model.provenance()["config"])),
        "metrics": {"lps": 0.1},
        "pip_install": f"pip install hfplug=={hfplug.__version__} hfplug-mmd-prior=={version}",
    }
    assert seen["run"].startswith('{\n  "hfplug_version"')  # indented for a reader
    assert model.provenance()["config"]["prior"] == "uniform" and model.provenance()["metrics"] == {}
    model.push_to_hub("me/ae")
    assert seen["options"] == {
        "private": False,
        "token": None,
        "revision": None,
        "commit_message": None,
        "create_pr": False,
    }
