"""`hfplug train` with a trainer registered with its own ``model_loader`` (a model that is not a causal LM)."""

import json

import pytest

import hfplug
from hfplug.config import parse_train_config
from hfplug.errors import ConfigError
from hfplug.testing import write_jsonl
from hfplug.train import RUN_INFO_FILE, run_training


class OwnModelPlugin:
    @hfplug.hookimpl
    def hfplug_register(self, registry):
        registry.trainer(
            "own_model",
            "tests.host.own_model_trainer:OwnModelTrainer",
            config="tests.host.own_model_trainer:OwnModelConfig",
            summary="Builds its own model.",
            model_loader="tests.host.own_model_trainer:load_own_model",
        )


def write_config(tmp_path, extra=""):
    data = write_jsonl(tmp_path / "rows.jsonl", [{"x": [1.0, 2.0]}, {"x": [3.0, 4.0]}])
    path = tmp_path / "run.yaml"
    path.write_text(f"trainer: own_model\ndataset: {data}\noutput_dir: {tmp_path / 'out'}\nreport_to: none\n{extra}")
    return path


def test_the_trainer_gets_no_model_and_no_tokenizer_when_none_is_named(tmp_path, isolated_plugins):
    isolated_plugins.register(OwnModelPlugin(), name="own-model")
    run_training(parse_train_config(write_config(tmp_path, "width: 5\n"), []))
    received = json.loads((tmp_path / "out" / "received.json").read_text())
    assert received == {"model": None, "width": 5}
    assert not (tmp_path / "out" / "tokenizer_config.json").exists()
    info = json.loads((tmp_path / "out" / RUN_INFO_FILE).read_text())
    assert info["trainer"]["name"] == "own_model" and info["metrics"] == {"rows": 2}


def test_the_trainer_gets_the_model_path_it_should_continue_from(tmp_path, isolated_plugins):
    isolated_plugins.register(OwnModelPlugin(), name="own-model")
    folder = tmp_path / "earlier"
    folder.mkdir()
    (folder / "config.json").write_text("{}")  # what save_pretrained leaves: hfplug train checks for it
    run_training(parse_train_config(write_config(tmp_path, f"model_name_or_path: {folder}\n"), []))
    assert json.loads((tmp_path / "out" / "received.json").read_text())["model"] == str(folder)


def test_other_trainers_still_need_a_model(tmp_path, isolated_plugins):
    data = write_jsonl(tmp_path / "rows.jsonl", [{"text": "a"}])
    path = tmp_path / "run.yaml"
    path.write_text(f"trainer: sft\ndataset: {data}\noutput_dir: {tmp_path / 'out'}\nreport_to: none\n")
    with pytest.raises(ConfigError, match="model_name_or_path: missing"):
        run_training(parse_train_config(path, []))


def test_a_trainer_without_an_accelerator_gets_a_run_record_from_the_launcher(tmp_path, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "1")
    from hfplug.distributed import launch_record

    assert launch_record(None) == {"world_size": 1, "backend": None, "distributed_type": None}
