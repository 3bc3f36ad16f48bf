"""The transform named in a config, run by hfplug's own train pipeline (as `hfplug train --config` does)."""

from __future__ import annotations

import json

import yaml

from hfplug.config import parse_train_config
from hfplug.train import run_training

from .conftest import write_task_file


def test_config_with_context_free_trains_end_to_end(tmp_path, monkeypatch, tiny_model_dir):
    monkeypatch.setenv("HFPLUG_CACHE", str(tmp_path / "cache"))
    model_dir = tiny_model_dir
    data_file = write_task_file(tmp_path / "task.jsonl", rows=6)
    config = {
        "trainer": "sft",
        "model_name_or_path": str(model_dir),
        "dataset": str(data_file),
        "data": [{"name": "context_free", "ratio": 0.25, "max_new_tokens": 4, "batch_size": 2, "progress": False}],
        "output_dir": str(tmp_path / "out"),
        "max_steps": 1,
        "per_device_train_batch_size": 2,
        "report_to": "none",
        "save_strategy": "no",
        "use_cpu": True,
    }
    config_file = tmp_path / "config.yaml"
    config_file.write_text(yaml.safe_dump(config))

    result = run_training(parse_train_config(config_file))

    assert (tmp_path / "out" / "model.safetensors").is_file()
    assert result.metrics["train_loss"] > 0
    cached = list((tmp_path / "cache" / "data" / "context_free").glob("*.json"))
    assert len(cached) == 1
    assert len(json.loads(cached[0].read_text())["samples"]) == 2  # round(0.25 * 6 / 0.75)
