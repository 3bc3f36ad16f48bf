"""Property 1: with one turn, Murphy IS GRPO: same rows, same loss, same gradients, same update.

Both trainers are real (trl's GRPOTrainer and MurphyTrainer on the same tiny random model), with
trl's generation function swapped for the same deterministic script, so the samples are equal.
"""

from __future__ import annotations

import pytest
import torch
from trl import GRPOTrainer


def one_of_each(scripted):
    """Per task: the right answer, a half-credit answer, two different wrong ones."""
    return lambda text, k: [scripted.answer_for(text), f"half {k}", "wrong", "also wrong"][k]


def build_pair(tiny_model_dir, tiny_tokenizer, scripted, grpo_args, murphy_args, **config):
    script = one_of_each(scripted)
    grpo = GRPOTrainer(
        str(tiny_model_dir),
        reward_funcs=[scripted.Grader()],
        args=grpo_args(**config),
        train_dataset=scripted.rows(),
        processing_class=tiny_tokenizer,
    )
    murphy = __import__("hfplug_murphy.trainer", fromlist=["MurphyTrainer"]).MurphyTrainer(
        str(tiny_model_dir),
        reward_funcs=[scripted.Grader()],
        args=murphy_args(max_turns=1, **config),
        train_dataset=scripted.rows(),
        processing_class=tiny_tokenizer,
    )
    for trainer in (grpo, murphy):
        trainer._generate_single_turn = scripted.Policy(tiny_tokenizer, script)
    return grpo, murphy


def loss_and_grads(trainer, batch):
    trainer.model.zero_grad()
    loss = trainer.compute_loss(trainer.model, batch)
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in trainer.model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize(
    "config",
    [
        {"loss_type": "dapo"},
        {"loss_type": "grpo", "beta": 0.05, "num_iterations": 2, "scale_rewards": "batch"},
    ],
    ids=["dapo", "grpo-kl-iterations-batchscale"],
)
def test_one_turn_gives_grpo_rows_loss_and_gradients(
    tiny_model_dir, tiny_tokenizer, scripted, grpo_args, murphy_args, config
):
    grpo, murphy = build_pair(tiny_model_dir, tiny_tokenizer, scripted, grpo_args, murphy_args, **config)
    inputs = scripted.inputs(scripted.rows(), 4)
    batches = []
    for trainer in (grpo, murphy):
        trainer.model.train()
        trainer.current_gradient_accumulation_steps = 1
        batches.append(trainer._generate_and_score_completions([dict(row) for row in inputs]))
    expected, got = batches
    assert sorted(expected) == sorted(got)
    for key, value in expected.items():
        assert torch.equal(value, got[key]), key
    assert expected["advantages"].abs().sum() > 0  # the comparison is not between two all-zero batches
    loss_grpo, grads_grpo = loss_and_grads(grpo, expected)
    loss_murphy, grads_murphy = loss_and_grads(murphy, got)
    assert torch.equal(loss_grpo, loss_murphy)
    assert grads_grpo.keys() == grads_murphy.keys() and grads_grpo
    for name, grad in grads_grpo.items():
        assert torch.equal(grad, grads_murphy[name]), name


def test_one_turn_training_step_updates_weights_as_grpo(
    tiny_model_dir, tiny_tokenizer, scripted, grpo_args, murphy_args
):
    # Two micro-batches per generation: exercises the row split and the shuffle on both sides.
    grpo, murphy = build_pair(
        tiny_model_dir,
        tiny_tokenizer,
        scripted,
        grpo_args,
        murphy_args,
        per_device_train_batch_size=4,
        gradient_accumulation_steps=2,
    )
    before = {n: p.detach().clone() for n, p in grpo.model.named_parameters()}
    for trainer in (grpo, murphy):
        torch.manual_seed(0)  # the same shuffle of the generation batch on both sides
        trainer.train()
    moved = 0
    for (name, p_grpo), (_, p_murphy) in zip(
        grpo.model.named_parameters(), murphy.model.named_parameters(), strict=True
    ):
        assert torch.equal(p_grpo, p_murphy), name
        moved += not torch.equal(p_grpo, before[name])
    assert moved > 0
    assert murphy.state.log_history[0]["reward"] == pytest.approx(grpo.state.log_history[0]["reward"])
