"""The example's decoding strategy, and a short training run of its trainer by name, the way users run them.

Copy with the plugin. The Hub here is hfplug's local test double (the ``local_hub`` fixture)."""

import json
import math

import hfplug_example.plugin
import pytest
import torch
from click.testing import CliRunner

import hfplug
from hfplug.cli import build_cli
from hfplug.testing import write_jsonl
from hfplug.testing.strategies import run_local_and_pinned

PROMPT = torch.tensor([[1, 5, 9, 13]])


@pytest.fixture
def banned_greedy(isolated_plugins):
    isolated_plugins.register(hfplug_example.plugin, name="example")
    return hfplug.load("generation", "banned_greedy")  # the folder; model.generate(custom_generate=...) runs it


def test_with_nothing_banned_it_is_plain_greedy(banned_greedy, tiny_model):
    plain = tiny_model.generate(PROMPT, do_sample=False, max_new_tokens=6)
    ours = tiny_model.generate(PROMPT, custom_generate=banned_greedy, trust_remote_code=True, max_new_tokens=6)
    assert torch.equal(ours, plain)


def test_banned_tokens_never_appear_and_the_rest_is_greedy(banned_greedy, tiny_model):
    plain = tiny_model.generate(PROMPT, do_sample=False, max_new_tokens=6)
    first = int(plain[0, PROMPT.shape[1]])
    ours = tiny_model.generate(
        PROMPT, custom_generate=banned_greedy, trust_remote_code=True, max_new_tokens=6, banned_token_ids=[first]
    )
    assert first not in ours[0, PROMPT.shape[1] :].tolist()
    with torch.no_grad():
        logits = tiny_model(PROMPT).logits[0, -1]
    logits[first] = float("-inf")
    assert int(ours[0, PROMPT.shape[1]]) == int(logits.argmax())  # the best token that is allowed


def test_an_argument_it_cannot_honour_is_an_error(banned_greedy, tiny_model):
    with pytest.raises(ValueError, match="greedy"):
        tiny_model.generate(PROMPT, custom_generate=banned_greedy, trust_remote_code=True, do_sample=True)
    with pytest.raises(ValueError, match="does not support: streamer"):
        tiny_model.generate(PROMPT, custom_generate=banned_greedy, trust_remote_code=True, streamer=object())


def test_pushed_it_runs_from_the_hub_pinned_without_hfplug_or_the_plugin(banned_greedy, tiny_model, local_hub):
    # Pushes the folder, then loads it back pinned to that commit with every Hub-loading argument
    # (revision, token, ...), with hfplug and hfplug_example unimportable, as a plain transformers user would.
    local, pinned = run_local_and_pinned(
        banned_greedy,
        local_hub.repo_id("banned-greedy"),
        tiny_model,
        PROMPT,
        packages=("hfplug", "hfplug_example"),
        max_new_tokens=5,
        banned_token_ids=[7],
    )
    assert torch.equal(pinned, local) and 7 not in pinned[0, PROMPT.shape[1] :].tolist()


def test_a_short_training_run_of_the_trainer_by_name(isolated_plugins, tiny_model_dir, tmp_path):
    # What `hfplug train --config run.yaml` does with `trainer: top_loss_sft`, on the tiny model, in seconds.
    isolated_plugins.register(hfplug_example.plugin, name="example")
    rows = [{"prompt": f"{i} plus 1 is", "completion": f" {i + 1}"} for i in range(8)]
    config = tmp_path / "run.yaml"
    config.write_text(
        f"trainer: top_loss_sft\nkeep_ratio: 0.5\nmodel_name_or_path: {tiny_model_dir}\n"
        f"dataset: {write_jsonl(tmp_path / 'train.jsonl', rows)}\noutput_dir: {tmp_path / 'out'}\n"
        "max_steps: 2\nper_device_train_batch_size: 4\nreport_to: none\nsave_strategy: 'no'\nuse_cpu: true\n"
    )
    result = CliRunner().invoke(build_cli(), ["train", "--config", str(config)])
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "out" / "hfplug_run.json").read_text())
    assert record["trainer"]["name"] == "top_loss_sft" and record["config"]["keep_ratio"] == 0.5
    assert math.isfinite(record["metrics"]["train_loss"])
