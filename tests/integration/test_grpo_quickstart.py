"""The GRPO quickstart config works out of the box: offline prompts, the built-in answer reward, a step on a
tiny model (the real run swaps in SmolLM2 and more steps; nothing else changes)."""

import json
import math

from hfplug.config import parse_train_config
from hfplug.datasets_io import load_split
from hfplug.rewards import gsm8k_answer
from hfplug.train import RUN_INFO_FILE, run_training

CONFIG = "examples/quickstart/grpo.yaml"


def test_gsm8k_prompts_asset_has_chat_prompts_and_checkable_answers():
    rows = load_split("asset:gsm8k-prompts")
    assert len(rows) == 100 and {"prompt", "answer"} <= set(rows.column_names)
    first = rows[0]
    assert first["prompt"][0]["role"] == "user" and "#### N" in first["prompt"][0]["content"]
    right = [[{"role": "assistant", "content": f"So the total is\n#### {row['answer']}"}] for row in rows]
    assert gsm8k_answer(rows["prompt"], right, answer=rows["answer"]) == [1.0] * 100


def test_the_grpo_quickstart_trains_a_step_on_a_tiny_model(tmp_path, tiny_model_dir):
    overrides = {
        "model_name_or_path": str(tiny_model_dir),
        "output_dir": str(tmp_path / "out"),
        "max_steps": "1",
        "max_train_samples": "4",
        "num_generations": "2",
        "per_device_train_batch_size": "2",
        "max_completion_length": "8",
    }
    args = [part for key, value in overrides.items() for part in (f"--{key}", value)]
    setup = parse_train_config(CONFIG, args)
    assert setup.trainer_component.name == "grpo" and setup.run.reward_funcs == ["gsm8k_answer"]
    result = run_training(setup)
    assert math.isfinite(result.metrics["train_loss"])
    info = json.loads((tmp_path / "out" / RUN_INFO_FILE).read_text())
    assert info["datasets"] == ["asset:gsm8k-prompts"]
    assert [c["name"] for c in info["components"]] == ["gsm8k_answer"]
