"""A step's tree rows trained in chunks of max_rows_per_forward give the loss and gradients of one pass.

Without chunks, a Murphy step runs one forward pass over up to max_turns times GRPO's rows (a SmolLM2
step on 2 tasks ran out of 24 GB); with them, no pass sees more rows than the limit.
"""

from __future__ import annotations

import pytest
import torch


def mixed_script(scripted):
    """Turn 1: right, half, two wrong of different lengths; refinements: the same mix, so rows and lengths vary."""
    lengths = ["wrong", "also wrong and rather longer than that"]

    def script(text, k):
        return [scripted.answer_for(text), f"half {k}", *lengths][k]

    return script


def loss_and_grads(trainer, batch):
    trainer.model.zero_grad()
    loss = trainer.compute_loss(trainer.model, batch)
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in trainer.model.named_parameters() if p.grad is not None}


def tree_batch(make_trainer, scripted, loss_type):
    trainer, _, _ = make_trainer(mixed_script(scripted), loss_type=loss_type, max_turns=2, max_rows_per_forward=0)
    trainer.model.train()
    trainer.current_gradient_accumulation_steps = 1
    batch = trainer._generate_and_score_completions([dict(row) for row in scripted.inputs(scripted.rows(), 4)])
    return trainer, batch


@pytest.mark.parametrize("loss_type", ["dapo", "grpo", "bnpo", "dr_grpo"])
def test_chunks_give_the_loss_and_gradients_of_one_pass(make_trainer, scripted, loss_type):
    trainer, batch = tree_batch(make_trainer, scripted, loss_type)
    rows = batch["completion_ids"].size(0)
    assert rows > 8 and rows % 5  # refinements were trained, and the last chunk is a short one
    assert batch["completion_mask"].sum(-1).unique().numel() > 1  # chunks hold different token counts
    whole_loss, whole_grads = loss_and_grads(trainer, batch)
    trainer.args.max_rows_per_forward = 5
    chunked_loss, chunked_grads = loss_and_grads(trainer, batch)
    assert chunked_loss == pytest.approx(whole_loss.item(), rel=1e-5, abs=1e-8)
    assert whole_grads.keys() == chunked_grads.keys() and whole_grads
    for name, grad in whole_grads.items():
        torch.testing.assert_close(chunked_grads[name], grad, rtol=1e-4, atol=1e-7, msg=name)


def test_no_forward_pass_sees_more_rows_than_the_limit(make_trainer, scripted):
    trainer, batch = tree_batch(make_trainer, scripted, "dapo")
    trainer.args.max_rows_per_forward = None  # the default: per_device_train_batch_size (8) rows a pass
    seen = []
    hook = trainer.model.register_forward_pre_hook(
        lambda module, args, kwargs: seen.append(kwargs["input_ids"].size(0)), with_kwargs=True
    )
    try:
        trainer.model.zero_grad()
        loss = trainer.compute_loss(trainer.model, batch)
        # Every chunk but the last was backpropagated before the next forward pass: its graph is gone already.
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in trainer.model.parameters())
        loss.backward()
    finally:
        hook.remove()
    assert sum(seen) == batch["completion_ids"].size(0) and max(seen) <= 8 and len(seen) > 1


def test_a_negative_row_limit_is_refused(murphy_args):
    from hfplug.errors import ConfigError

    with pytest.raises(ConfigError, match="max_rows_per_forward"):
        murphy_args(max_rows_per_forward=-1)
