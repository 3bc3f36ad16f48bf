import json
import math

import pytest
import yaml
from click.testing import CliRunner

from hfplug.cli import build_cli
from hfplug.config import parse_train_config
from hfplug.errors import DatasetError, HfplugError
from hfplug.model_card import render_model_card, split_card
from hfplug.testing import write_jsonl
from hfplug.train import RUN_INFO_FILE, _non_finite_loss_guard, run_training


def config_file(tmp_path, model_dir, data_path, extra=""):
    path = tmp_path / "run.yaml"
    path.write_text(
        f"trainer: sft\nmodel_name_or_path: {model_dir}\ndataset: {data_path}\noutput_dir: {tmp_path / 'out'}\n"
        "max_steps: 2\nper_device_train_batch_size: 2\nmax_length: 64\nreport_to: none\nsave_strategy: 'no'\n"
        "logging_steps: 1\nlearning_rate: 1.0e-3\n" + extra
    )
    return path


CHAT_ROWS = [
    {"messages": [{"role": "user", "content": f"What is {i} plus 1?"}, {"role": "assistant", "content": str(i + 1)}]}
    for i in range(6)
]


def test_train_saves_model_and_provenance(tmp_path, tiny_model_dir):
    data = write_jsonl(tmp_path / "train.jsonl", CHAT_ROWS)
    result = CliRunner().invoke(build_cli(), ["train", "--config", str(config_file(tmp_path, tiny_model_dir, data))])
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    assert (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file()
    info = json.loads((out / RUN_INFO_FILE).read_text())
    assert info["trainer"]["name"] == "sft" and info["trainer"]["distribution"] == "hfplug"
    assert info["config"]["max_steps"] == 2 and info["base_model"] == str(tiny_model_dir)
    assert info["pip_install"].startswith("pip install hfplug==")
    assert math.isfinite(info["metrics"]["train_loss"])


def test_trained_model_generates(tmp_path, tiny_model_dir):
    data = write_jsonl(tmp_path / "train.jsonl", CHAT_ROWS)
    run_training(parse_train_config(config_file(tmp_path, tiny_model_dir, data), []))
    result = CliRunner().invoke(
        build_cli(),
        ["generate", "--model", str(tmp_path / "out"), "--prompt", "What is 1 plus 1?", "--max-new-tokens", "4"],
    )
    assert result.exit_code == 0, result.output


def test_lora_training(tmp_path, tiny_model_dir):
    data = write_jsonl(tmp_path / "train.jsonl", CHAT_ROWS)
    path = config_file(
        tmp_path, tiny_model_dir, data, "use_peft: true\nlora_r: 2\nlora_target_modules: [q_proj, v_proj]\n"
    )
    run_training(parse_train_config(path, []))
    assert (tmp_path / "out" / "adapter_config.json").is_file()
    # PEFT and trl wrote their own README with the local base folder; the card keeps Hub ids only.
    written = split_card((tmp_path / "out" / "README.md").read_text())[0]
    assert written.get("base_model") == str(tiny_model_dir)
    metadata, body = split_card(render_model_card(tmp_path / "out", repo_id="me/lora"))
    assert "base_model" not in metadata and str(tiny_model_dir) not in yaml.safe_dump(metadata.get("base_model"))
    assert "[None]" not in body and 'model="None"' not in body
    assert metadata["hfplug"]["base_model"] == str(tiny_model_dir)  # recorded as provenance, not as a Hub id


def test_missing_column_fails_before_training_naming_it(tmp_path, tiny_model_dir):
    data = write_jsonl(tmp_path / "train.jsonl", [{"question": "q", "answer": "a"}] * 4)
    setup = parse_train_config(config_file(tmp_path, tiny_model_dir, data), [])
    with pytest.raises(DatasetError, match=r"trainer 'sft' needs the column\(s\) \(messages\).*has: question, answer"):
        run_training(setup)
    assert not (tmp_path / "out").exists()


def test_empty_dataset_and_missing_file(tmp_path, tiny_model_dir):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(DatasetError):
        run_training(parse_train_config(config_file(tmp_path, tiny_model_dir, empty), []))
    with pytest.raises(DatasetError, match="could not load"):
        run_training(parse_train_config(config_file(tmp_path, tiny_model_dir, tmp_path / "nope"), []))


def test_cli_reports_errors_in_one_line(tmp_path, tiny_model_dir):
    data = write_jsonl(tmp_path / "train.jsonl", CHAT_ROWS)
    result = CliRunner().invoke(
        build_cli(), ["train", "--config", str(config_file(tmp_path, tiny_model_dir, data)), "--max_stepz", "1"]
    )
    assert result.exit_code == 1
    assert "ConfigError" in result.output and "max_steps" in result.output and "Traceback" not in result.output


def test_non_finite_loss_stops_the_run():
    guard = _non_finite_loss_guard()

    class State:
        global_step = 3

    guard.on_log(None, State(), None, logs={"loss": 1.5})
    with pytest.raises(HfplugError, match="loss is nan at step 3"):
        guard.on_log(None, State(), None, logs={"loss": float("nan")})


def test_data_transform_runs_before_training(tmp_path, tiny_model_dir, isolated_plugins):
    from .test_config import DataPlugin

    isolated_plugins.register(DataPlugin(), name="data-plugin")
    data = write_jsonl(tmp_path / "train.jsonl", CHAT_ROWS)
    path = config_file(tmp_path, tiny_model_dir, data, "data:\n  - {name: take, k: 50}\n")
    with pytest.raises(DatasetError, match="k=50 is larger than the dataset"):
        run_training(parse_train_config(path, []))
    path = config_file(tmp_path, tiny_model_dir, data, "data:\n  - {name: take, k: 2}\n")
    run_training(parse_train_config(path, []))
    info = json.loads((tmp_path / "out" / RUN_INFO_FILE).read_text())
    assert info["data"] == [{"name": "take", "k": 2}]


def test_data_command_applies_a_transform_and_never_overwrites(tmp_path, isolated_plugins):
    from .test_config import DataPlugin

    isolated_plugins.register(DataPlugin(), name="data-plugin")
    data = write_jsonl(tmp_path / "train.jsonl", CHAT_ROWS)
    out = tmp_path / "taken"
    result = CliRunner().invoke(
        build_cli(), ["data", "take", "--dataset", str(data), "--output", str(out), "--set", "k=3"]
    )
    assert result.exit_code == 0, result.output
    from datasets import load_from_disk

    assert len(load_from_disk(str(out))) == 3
    again = CliRunner().invoke(build_cli(), ["data", "take", "--dataset", str(data), "--output", str(out)])
    assert again.exit_code == 1 and "already exists" in again.output
    assert len(load_from_disk(str(out))) == 3
    bad = CliRunner().invoke(
        build_cli(), ["data", "take", "--dataset", str(data), "--output", str(tmp_path / "x"), "--set", "q=1"]
    )
    assert bad.exit_code == 1 and "unknown parameter" in bad.output
