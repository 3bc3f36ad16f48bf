"""The transform named in a config, run by hfplug's own train pipeline (as `hfplug train --config` does)."""

from __future__ import annotations

import json

import yaml

from hfplug.config import parse_train_config
from hfplug.train import run_training


def test_config_with_context_free_trains_end_to_end(tmp_path, monkeypatch, tiny_model, tiny_tokenizer):
    monkeypatch.setenv("HFPLUG_CACHE", str(tmp_path / "cache"))
    model_dir = tmp_path / "base"
    tiny_model.save_pretrained(model_dir)
    tiny_tokenizer.save_pretrained(model_dir)
    rows = [
        {"messages": [{"role": "user", "content": f"What is {i} plus 3?"}, {"role": "assistant", "content": "5"}]}
        for i in range(6)
    ]
    data_file = tmp_path / "task.jsonl"
    data_file.write_text("".join(json.dumps(row) + "\n" for row in rows))
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
