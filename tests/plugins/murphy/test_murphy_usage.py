"""Murphy as users meet it: by name, from a config file, with real (tiny-model) generation, logging
its compute every step, saving a model that loads back."""

from __future__ import annotations

import json

import pytest
from hfplug_murphy.config import MurphyConfig
from hfplug_murphy.trainer import MurphyTrainer
from transformers import AutoModelForCausalLM

import hfplug
from hfplug.config import parse_train_config
from hfplug.testing import write_jsonl
from hfplug.train import RUN_INFO_FILE, run_training

ACCOUNTING = (
    "murphy/generated_tokens",
    "murphy/executions",
    "murphy/tree_nodes",
    "murphy/trained_nodes",
    "murphy/refinement_groups",
    "murphy/rollout_seconds",
    "murphy/total_generated_tokens",
    "murphy/total_executions",
    "murphy/total_tree_nodes",
    "murphy/wall_seconds",
)


def test_trainer_and_config_load_by_name():
    assert hfplug.load("trainer", "murphy") is MurphyTrainer
    assert hfplug.load_config("trainer", "murphy") is MurphyConfig
    assert hfplug.get("trainer", "murphy").paper == "arXiv:2511.07833"


def test_real_generation_logs_compute_every_step(tiny_model_dir, tiny_tokenizer, murphy_args, scripted):
    # A random tiny model fails every task, so every turn-1 node is refined: the transformers
    # generation path runs on refinement prompts too.
    trainer = MurphyTrainer(
        str(tiny_model_dir),
        reward_funcs=[scripted.Grader()],
        args=murphy_args(max_steps=2, num_generations=2, per_device_train_batch_size=4, max_completion_length=6),
        train_dataset=scripted.rows(),
        processing_class=tiny_tokenizer,
    )
    trainer.train()
    steps = [log for log in trainer.state.log_history if "loss" in log]
    assert len(steps) == 2
    for log in steps:
        assert set(ACCOUNTING) <= set(log)
        assert log["murphy/tree_nodes"] == 2 * (2 + 2 * 2)  # 2 tasks x (turn 1 + two refinement groups)
        assert log["murphy/executions"] == log["murphy/tree_nodes"]
        assert 0 < log["murphy/generated_tokens"] <= log["murphy/tree_nodes"] * 6
    assert steps[1]["murphy/total_generated_tokens"] == sum(s["murphy/generated_tokens"] for s in steps)
    assert steps[1]["murphy/total_tree_nodes"] == 24
    refined = [n for t in trainer.last_rollout for n in t.nodes if n.depth == 2]
    assert refined and all(scripted.refine_mark in str(n.prompt) for n in refined)


def test_config_file_by_name_trains_saves_and_records_provenance(tmp_path, tiny_model_dir, scripted, scripted_rewards):
    rows = [dict(row) for row in scripted.rows()]
    write_jsonl(tmp_path / "tasks.jsonl", rows)
    config = tmp_path / "run.yaml"
    config.write_text(
        f"trainer: murphy\nmodel_name_or_path: {tiny_model_dir}\ndataset: {tmp_path / 'tasks.jsonl'}\n"
        f"output_dir: {tmp_path / 'out'}\nreward_funcs: [scripted, short_answer]\nreward_weights: [1.0, 0.1]\n"
        "max_turns: 2\ncredit: mean\nnum_generations: 2\nper_device_train_batch_size: 4\nmax_completion_length: 6\n"
        "max_steps: 1\nreport_to: none\nsave_strategy: 'no'\nlogging_steps: 1\nuse_cpu: true\n"
    )
    setup = parse_train_config(config, ["--intra_prune_keep", "2"])
    assert (setup.trainer_config.credit, setup.trainer_config.intra_prune_keep) == ("mean", 2)
    result = run_training(setup)
    info = json.loads((tmp_path / "out" / RUN_INFO_FILE).read_text())
    assert info["trainer"]["name"] == "murphy" and info["trainer"]["paper"] == "arXiv:2511.07833"
    assert info["config"]["credit"] == "mean" and "hfplug-murphy==0.1.0" in info["pip_install"]
    assert AutoModelForCausalLM.from_pretrained(result.output_dir) is not None


@pytest.mark.parametrize("chat", [True, False], ids=["chat", "plain"])
def test_refinement_prompts_in_both_prompt_formats(make_trainer, scripted, chat):
    trainer, policy, _ = make_trainer(lambda text, k: "wrong", dataset=scripted.rows(chat=chat), max_turns=2)
    trainer.model.train()
    trainer._generate_and_score_completions(scripted.inputs(scripted.rows(chat=chat), 4))
    node = next(n for t in trainer.last_rollout for n in t.nodes if n.depth == 2)
    if chat:
        assert [m["role"] for m in node.prompt] == ["user", "assistant", "user"]
        assert node.prompt[1]["content"] == "wrong" and "Public test" in node.prompt[2]["content"]
        assert "<|im_start|>assistant\nwrong<|im_end|>" in policy.prompts[1][0]  # through the chat template
    else:
        assert node.prompt.startswith("Write add.\nwrong\n\n") and "Public test" in node.prompt
