"""`data: [{name: flow_weights}]` + `trainer: flow` in a config file, run by the host (`hfplug train`)."""

from __future__ import annotations

import json

from hfplug.config import parse_train_config
from hfplug.testing import save_model_dir, write_jsonl
from hfplug.train import RUN_INFO_FILE, run_training


def test_config_file_weights_then_trains(tmp_path, tiny_model, tiny_tokenizer, monkeypatch):
    monkeypatch.setenv("HFPLUG_CACHE", str(tmp_path / "cache"))
    save_model_dir(tiny_model, tiny_tokenizer, tmp_path / "base")
    write_jsonl(
        tmp_path / "train.jsonl", [{"prompt": f"What is {i} plus 1?", "completion": f" {i + 1}"} for i in range(6)]
    )
    config = tmp_path / "run.yaml"
    config.write_text(
        f"trainer: flow\nmodel_name_or_path: {tmp_path / 'base'}\ndataset: {tmp_path / 'train.jsonl'}\n"
        f"output_dir: {tmp_path / 'out'}\nrequired_plugins: ['hfplug-flow>=0.1']\n"
        "data:\n  - name: flow_weights\n    mode: token\n    max_length: 64\nflow_mode: token\n"
        "max_steps: 2\nper_device_train_batch_size: 2\nmax_length: 64\nreport_to: none\nsave_strategy: 'no'\n"
        "logging_steps: 1\nuse_cpu: true\n"
    )
    run_training(parse_train_config(config, []))
    info = json.loads((tmp_path / "out" / RUN_INFO_FILE).read_text())
    assert info["trainer"]["name"] == "flow" and info["trainer"]["distribution"] == "hfplug-flow"
    assert info["data"] == [
        {"name": "flow_weights", "mode": "token", "batch_size": 8, "max_length": 64, "nan_policy": "error"}
        | {"text_field": "text", "use_cache": True, "device": "auto"}
    ]
    assert len(list((tmp_path / "cache").rglob("flow_weights/*.json"))) == 1
