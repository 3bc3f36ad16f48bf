"""The stock trl baselines run by name from a config, like any plugin trainer."""

import json

import hfplug
from hfplug.config import parse_train_config
from hfplug.testing import write_jsonl
from hfplug.train import run_training

from .test_train import config_file


class RewardPlugin:
    @hfplug.hookimpl
    def hfplug_register(self, registry):
        registry.reward("shorter_is_better", "tests.host.rewards:shorter_is_better", summary="Prefer short answers.")


def test_dpo_by_name(tmp_path, tiny_model_dir):
    rows = [{"prompt": f"Say {i}", "chosen": str(i), "rejected": "no"} for i in range(4)]
    data = write_jsonl(tmp_path / "pairs.jsonl", rows)
    path = config_file(tmp_path, tiny_model_dir, data, "max_steps: 1\n")
    path.write_text(path.read_text().replace("trainer: sft", "trainer: dpo").replace("max_steps: 2\n", ""))
    result = run_training(parse_train_config(path, []))
    info = json.loads((tmp_path / "out" / "hfplug_run.json").read_text())
    assert info["trainer"]["name"] == "dpo" and info["trainer"]["paper"] == "arXiv:2305.18290"
    assert "train_loss" in result.metrics


def test_grpo_by_name_with_a_registered_reward(tmp_path, tiny_model_dir, isolated_plugins):
    isolated_plugins.register(RewardPlugin(), name="rewards")
    data = write_jsonl(tmp_path / "prompts.jsonl", [{"prompt": f"Count to {i}"} for i in range(4)])
    extra = "max_steps: 1\nnum_generations: 2\nmax_completion_length: 4\nreward_funcs: [shorter_is_better]\n"
    path = config_file(tmp_path, tiny_model_dir, data, extra)
    text = path.read_text().replace("trainer: sft", "trainer: grpo").replace("max_steps: 2\n", "")
    path.write_text(text.replace("max_length: 64\n", ""))  # GRPO has max_completion_length instead
    run_training(parse_train_config(path, []))
    info = json.loads((tmp_path / "out" / "hfplug_run.json").read_text())
    assert info["components"][0]["name"] == "shorter_is_better"
