"""Everything GRPOTrainer accepts, MurphyTrainer accepts (issue 30, item 1).

With one turn any reward trl takes works (functions sync or async, reward models by Hub id, path
or object, weights, both aggregation modes, args=None). With refinement turns the same rewards
are scored by trl's own reward computation beside the grading reward, and receive what trl gives
them; what cannot combine with trees is refused for ``max_turns > 1`` only, saying why.
"""

from __future__ import annotations

import asyncio

import pytest
import torch
from hfplug_murphy.trainer import MurphyTrainer
from huggingface_hub import HfApi
from transformers import LlamaConfig, LlamaForSequenceClassification

from hfplug.errors import ConfigError


def reward_model(tokenizer, seed: int = 0) -> LlamaForSequenceClassification:
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_labels=1,
        pad_token_id=tokenizer.pad_token_id,
    )
    return LlamaForSequenceClassification(config)


def short(prompts, completions, **kwargs):
    """1 for a completion under 12 characters."""
    return [float(len(c if isinstance(c, str) else c[0]["content"]) < 12) for c in completions]


async def async_quarter(prompts, completions, **kwargs):
    await asyncio.sleep(0)
    return [0.25] * len(completions)


def script_for(scripted):
    """Turn 1: right, half, wrong, wrong; refinements: the first child fixes it."""

    def script(text: str, k: int) -> str:
        if scripted.refine_mark in text:
            return scripted.answer_for(text) if k == 0 else f"still wrong {k}"
        return [scripted.answer_for(text), "half try", "wrong k2", "wrong k3"][k]

    return script


def build(tiny_model_dir, tiny_tokenizer, murphy_args, scripted, rewards, *, turns, **kwargs):
    extra = {k: kwargs.pop(k) for k in list(kwargs) if k in ("reward_processing_classes", "rollout_func", "tools")}
    trainer = MurphyTrainer(
        str(tiny_model_dir),
        reward_funcs=rewards,
        args=murphy_args(max_turns=turns, **kwargs),
        train_dataset=scripted.rows(),
        processing_class=tiny_tokenizer,
        **extra,
    )
    trainer._generate_single_turn = scripted.Policy(tiny_tokenizer, script_for(scripted))
    return trainer


@pytest.mark.parametrize("aggregation", ["sum_then_normalize", "normalize_then_sum"])
def test_one_turn_trains_with_every_kind_of_reward_and_aggregation(
    tiny_model_dir, tiny_tokenizer, murphy_args, scripted, aggregation
):
    rewards = [short, async_quarter, reward_model(tiny_tokenizer)]
    trainer = build(
        tiny_model_dir,
        tiny_tokenizer,
        murphy_args,
        scripted,
        rewards,
        turns=1,
        max_steps=1,
        reward_weights=[1.0, 2.0, 0.5],
        multi_objective_aggregation=aggregation,
        reward_processing_classes=[None, None, tiny_tokenizer],
    )
    trainer.train()
    log = trainer.state.log_history[0]
    assert log["rewards/short/mean"] == 7 / 8  # all but "return a + b" are short
    assert log["rewards/async_quarter/mean"] == 0.25
    assert len([key for key in log if key.startswith("rewards/") and key.endswith("/mean")]) == 3  # + the model
    assert log["murphy/tree_nodes"] == 8 and log["murphy/refinement_groups"] == 0


def test_reward_models_by_hub_id_path_or_name_of_an_hfplug_reward(
    local_hub, tmp_path, tiny_model_dir, tiny_tokenizer, murphy_args, scripted, scripted_rewards
):
    folder = tmp_path / "rm"
    reward_model(tiny_tokenizer).save_pretrained(folder)
    tiny_tokenizer.save_pretrained(folder)
    repo = local_hub.repo_id("tiny-reward-model")
    HfApi().create_repo(repo)
    HfApi().upload_folder(repo_id=repo, folder_path=str(folder))
    by_id = build(tiny_model_dir, tiny_tokenizer, murphy_args, scripted, repo, turns=1)
    assert isinstance(by_id.reward_funcs[0], LlamaForSequenceClassification)
    assert by_id.reward_func_names == ["tiny-reward-model"]
    # "scripted" is a registered hfplug reward: it stays that reward (the grader); a path is a reward model.
    mixed = build(
        tiny_model_dir, tiny_tokenizer, murphy_args, scripted, ["scripted", str(folder)], turns=2, max_steps=1
    )
    assert callable(getattr(mixed.reward_funcs[0], "grade", None))
    assert isinstance(mixed.reward_funcs[1], LlamaForSequenceClassification)
    mixed.train()
    assert "rewards/rm/mean" in mixed.state.log_history[0]


def test_rewards_beside_the_grader_get_what_trl_gives_and_are_summed_with_weights(
    tiny_model_dir, tiny_tokenizer, murphy_args, scripted
):
    seen = []

    def recording(prompts, completions, completion_ids, trainer_state, log_extra, log_metric, **columns):
        seen.append({"ids": completion_ids, "state": trainer_state, "columns": sorted(columns), "prompts": prompts})
        log_extra("chars", [len(str(c)) for c in completions])
        log_metric("calls", 1.0)
        return [1.0] * len(completions)

    grader = scripted.Grader()
    trainer = build(
        tiny_model_dir,
        tiny_tokenizer,
        murphy_args,
        scripted,
        [grader, recording, async_quarter],
        turns=2,
        reward_weights=[1.0, 2.0, 4.0],
    )
    trainer.model.train()
    trainer.current_gradient_accumulation_steps = 1
    trainer._generate_and_score_completions(scripted.inputs(scripted.rows(), 4))
    nodes = [node for tree in trainer.last_rollout for node in tree.nodes]
    assert len(seen) == 2  # once per turn, as trl calls a reward once per generation batch
    assert [ids for call in seen for ids in call["ids"]] == [n.completion_ids for n in trainer.node_grader.order]
    assert all(call["state"] is trainer.state for call in seen)
    assert seen[0]["columns"] == ["answer", "hidden_test", "public_test"]
    assert all(
        p in ([{"role": "user", "content": "Write add."}], [{"role": "user", "content": "Write neg."}])
        for call in seen
        for p in call["prompts"]
    )  # the task, never the refinement prompt
    for node in nodes:
        graded = {"return a + b": 1.0, "return -x": 1.0, "half try": 0.5}.get(scripted.text(node.completion), 0.0)
        assert node.reward == pytest.approx(graded + 2.0 * 1.0 + 4.0 * 0.25)  # a weighted sum, not a mean
    # trl's completions table keeps the latest rows; the extra column stays aligned with them
    chars, shown = list(trainer._logs["extra"]["chars"]), list(trainer._logs["completion"])
    assert 0 < len(chars) == len(shown) and chars == [len(str(c)) for c in shown]
    assert trainer._metrics["train"]["calls"] == [1.0]


def test_a_grading_reward_is_needed_only_with_several_turns(tiny_model_dir, tiny_tokenizer, murphy_args, scripted):
    one_turn = build(tiny_model_dir, tiny_tokenizer, murphy_args, scripted, [short], turns=1, max_steps=1)
    one_turn.train()
    assert one_turn.state.log_history[0]["rewards/short/mean"] == 7 / 8
    with pytest.raises(ConfigError, match=r"with max_turns=2 .*needs a reward that also returns feedback.*short"):
        build(tiny_model_dir, tiny_tokenizer, murphy_args, scripted, [short], turns=2)


@pytest.mark.parametrize("feature", ["rollout_func", "tools", "environment_factory"])
def test_trl_features_without_a_tree_equivalent_are_refused_only_with_several_turns(
    tiny_model, murphy_args, scripted, feature
):
    value = {"rollout_func": lambda prompts, trainer: {}, "tools": [short], "environment_factory": object}[feature]
    with pytest.raises(ConfigError, match=rf"{feature} works with max_turns=1 only.*Got max_turns=2"):
        MurphyTrainer(
            tiny_model, [scripted.Grader()], args=murphy_args(), train_dataset=scripted.rows(), **{feature: value}
        )


def test_rollout_func_with_one_turn_is_trls(tiny_model, tiny_tokenizer, murphy_args, scripted):
    def rollout(prompts, trainer):
        ids = tiny_tokenizer("return -x", add_special_tokens=False)["input_ids"] + [tiny_tokenizer.eos_token_id]
        return {"prompt_ids": [[1, 2]] * len(prompts), "completion_ids": [ids] * len(prompts), "logprobs": None}

    trainer = MurphyTrainer(
        tiny_model,
        [short],
        args=murphy_args(max_turns=1, max_steps=1),
        train_dataset=scripted.rows(),
        processing_class=tiny_tokenizer,
        rollout_func=rollout,
    )
    trainer.train()
    assert trainer.state.log_history[0]["rewards/short/mean"] == 1.0


def test_args_none_gives_grpo_without_a_grader_and_two_turns_with_one(
    tiny_model_dir, tiny_tokenizer, scripted, monkeypatch, tmp_path
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("transformers.training_args.is_torch_bf16_gpu_available", lambda: True)  # default bf16 on CPU
    plain = MurphyTrainer(str(tiny_model_dir), short, train_dataset=scripted.rows(), processing_class=tiny_tokenizer)
    assert plain.args.max_turns == 1 and plain.args.output_dir.endswith(f"{tiny_model_dir.name}-Murphy")
    graded = MurphyTrainer(
        str(tiny_model_dir), scripted.Grader(), train_dataset=scripted.rows(), processing_class=tiny_tokenizer
    )
    assert graded.args.max_turns == 2


def test_a_grader_without_validate_is_not_probed_with_one_turn(tiny_model_dir, tiny_tokenizer, murphy_args, scripted):
    grader = scripted.Grader("no_validate", with_validate=False)
    trainer = build(tiny_model_dir, tiny_tokenizer, murphy_args, scripted, [grader], turns=1, max_steps=1)
    trainer.train()
    assert all("" not in call for call in grader.calls)  # only the model's completions were graded
    assert len(grader.calls) == 1
