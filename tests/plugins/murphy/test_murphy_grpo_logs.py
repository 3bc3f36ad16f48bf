"""Everything GRPOTrainer logs, MurphyTrainer logs, under the same names and meaning (issue 30, item 2).

With one turn the logs ARE GRPO's (trained side by side on the same scripted samples, every logged
value equal), plus ``murphy/*``. With refinement turns trl's reward metrics, completions table,
``log_extra`` / ``log_metric`` values, ``eval_`` forms and its all-None warning are still there.
"""

from __future__ import annotations

import logging

import pytest
import torch
from hfplug_murphy.trainer import MurphyTrainer
from trl import GRPOTrainer

TIMING = {"step_time", "train_runtime", "train_samples_per_second", "train_steps_per_second"}


def script_for(scripted, fourth: str = "wrong k3"):
    """Turn 1: right, half, wrong, ``fourth``; refinements: the first child fixes it."""

    def script(text: str, k: int) -> str:
        if scripted.refine_mark in text:
            return scripted.answer_for(text) if k == 0 else f"still wrong {k}"
        return [scripted.answer_for(text), "half try", "wrong k2", fourth][k]

    return script


def chatty(prompts, completions, log_extra, log_metric, **columns):
    """A reward that logs through trl's hooks: 1 for an answer that starts with 'return'."""
    values = [float(c[0]["content"].startswith("return")) for c in completions]
    log_extra("starts_with_return", values)
    log_metric("chatty/calls", float(len(values)))
    return values


def test_one_turn_logs_every_value_grpo_logs(tiny_model_dir, tiny_tokenizer, scripted, grpo_args, murphy_args):
    common = {"max_steps": 2, "reward_weights": [1.0, 0.5], "beta": 0.1}
    trainers = []
    for trainer_class, args in [
        (GRPOTrainer, grpo_args(**common)),
        (MurphyTrainer, murphy_args(max_turns=1, **common)),
    ]:
        trainer = trainer_class(
            str(tiny_model_dir),
            reward_funcs=[scripted.Grader(), chatty],
            args=args,
            train_dataset=scripted.rows(),
            processing_class=tiny_tokenizer,
        )
        trainer._generate_single_turn = scripted.Policy(tiny_tokenizer, script_for(scripted))
        torch.manual_seed(0)
        trainer.train()
        trainers.append(trainer)
    grpo, murphy = trainers
    assert len(grpo.state.log_history) == len(murphy.state.log_history) == 3
    for expected, got in zip(grpo.state.log_history, murphy.state.log_history, strict=True):
        assert {k for k in got if k not in expected} <= {k for k in got if k.startswith("murphy/")}
        for key, value in expected.items():
            if key not in TIMING:
                assert got[key] == value, key
    first = grpo.state.log_history[0]
    assert {"rewards/scripted/std", "rewards/chatty/mean", "reward_std", "frac_reward_zero_std", "kl"} <= set(first)
    assert first["chatty/calls"] == 8.0
    for column in ("prompt", "completion", "advantages"):
        assert list(murphy._logs[column]) == list(grpo._logs[column]), column
    assert dict(murphy._logs["rewards"]) == dict(grpo._logs["rewards"])
    assert dict(murphy._logs["extra"]) == dict(grpo._logs["extra"]) != {}


def test_refinement_turns_log_trls_reward_metrics_and_eval_forms(tiny_model_dir, tiny_tokenizer, scripted, murphy_args):
    trainer = MurphyTrainer(
        str(tiny_model_dir),
        reward_funcs=[scripted.Grader(), chatty],
        args=murphy_args(max_steps=1, reward_weights=[1.0, 0.0]),
        train_dataset=scripted.rows(),
        eval_dataset=scripted.rows(),
        processing_class=tiny_tokenizer,
    )
    trainer._generate_single_turn = scripted.Policy(tiny_tokenizer, script_for(scripted))
    trainer.train()
    log = trainer.state.log_history[0]
    # turn 1 per task: 1, 0.5, 0, 0 (the samples GRPO would have drawn)
    assert log["rewards/scripted/mean"] == pytest.approx(0.375)
    assert log["rewards/scripted/std"] == pytest.approx(torch.tensor([1, 0.5, 0, 0] * 2).float().std().item())
    assert log["rewards/chatty/mean"] == pytest.approx(0.25)
    assert log["reward"] == pytest.approx(0.375) and log["reward_std"] == pytest.approx(log["rewards/scripted/std"])
    # every turn-1 node is credited 1 (its refinement fixed it), so turn-1 groups have zero std: 4 of 16 nodes a tree
    assert log["frac_reward_zero_std"] == pytest.approx(0.25)
    assert log["chatty/calls"] == pytest.approx((8 + 24) / 2)  # one call per turn, averaged as trl averages
    assert log["murphy/refinement_groups"] == 6
    evaluated = trainer.evaluate()
    assert evaluated["eval_rewards/scripted/mean"] == pytest.approx(0.375)
    assert evaluated["eval_reward"] == pytest.approx(0.375)
    assert evaluated["eval_frac_reward_zero_std"] == pytest.approx(0.25)
    assert "eval_murphy/tree_nodes" in evaluated


@pytest.mark.parametrize("turns", [1, 2])
def test_all_none_rewards_warn_as_trl_does(make_trainer, scripted, caplog, turns):
    trainer, _, _ = make_trainer(script_for(scripted, fourth="INFRA"), max_turns=turns)
    trainer.model.train()
    trainer.current_gradient_accumulation_steps = 1
    with caplog.at_level(logging.WARNING):
        trainer._generate_and_score_completions(scripted.inputs(scripted.rows(), 4))
    assert "All reward functions returned None" in caplog.text
