"""`use_peft: true` through `hfplug train` with every trainer in this repository that accepts a peft_config
(found by following **kwargs to trl's own signature): each trains a LoRA adapter on a tiny model."""

import pytest

import hfplug
from hfplug.config import parse_train_config
from hfplug.testing import write_jsonl
from hfplug.train import run_training
from hfplug.trainer_arguments import init_keywords

SFT_ROWS = [{"prompt": f"What is {i} plus 1?", "completion": f" {i + 1}"} for i in range(4)]
PREFERENCE_ROWS = [{"prompt": f"{i} plus 1 is", "chosen": f" {i + 1}", "rejected": f" {i + 7}"} for i in range(4)]
PROMPT_ROWS = [{"prompt": f"What is {i} plus 1?", "answer": str(i + 1)} for i in range(4)]

# trainer -> (rows, extra config); each one's own needs besides LoRA.
TRAINERS = {
    "sft": (SFT_ROWS, "max_length: 32\n"),
    "talr": (SFT_ROWS, "max_length: 32\n"),
    "flow": (SFT_ROWS, "max_length: 32\ndata:\n  - {name: flow_weights, max_length: 32}\n"),
    "early_exit": (SFT_ROWS, "max_length: 32\n"),
    "dpo": (PREFERENCE_ROWS, "max_length: 32\n"),
    "grpo": (PROMPT_ROWS, "reward_funcs: [gsm8k_answer]\nnum_generations: 2\nmax_completion_length: 4\n"),
}


@pytest.mark.parametrize("trainer", TRAINERS)
def test_use_peft_trains_an_adapter(trainer, tmp_path, tiny_model_dir, monkeypatch):
    if trainer not in hfplug.names("trainer"):
        pytest.skip(f"trainer {trainer!r} is not installed")  # a plugin installed without the others
    assert init_keywords(hfplug.load("trainer", trainer)).accepts("peft_config")
    monkeypatch.setenv("HFPLUG_CACHE", str(tmp_path / "cache"))
    rows, extra = TRAINERS[trainer]
    data = write_jsonl(tmp_path / "train.jsonl", rows)
    config = tmp_path / "run.yaml"
    config.write_text(
        f"trainer: {trainer}\nmodel_name_or_path: {tiny_model_dir}\ndataset: {data}\noutput_dir: {tmp_path / 'out'}\n"
        "use_peft: true\nlora_r: 2\nlora_target_modules: [q_proj, v_proj]\n"
        "max_steps: 1\nper_device_train_batch_size: 2\nreport_to: none\nsave_strategy: 'no'\n"
        "logging_steps: 1\nuse_cpu: true\n" + extra
    )
    run_training(parse_train_config(config, []))
    assert (tmp_path / "out" / "adapter_config.json").is_file()
    assert not (tmp_path / "out" / "model.safetensors").exists()  # the adapter, not a merged model
