"""TALR's loss inside the trainer: stop-gradient, the tau -> inf and DFT special cases, accumulation."""

from __future__ import annotations

import statistics

import pytest
import torch
from hfplug_talr.trainer import TALRTrainer
from trl import SFTConfig, SFTTrainer

from hfplug.testing import FAST_CPU_DEFAULTS, make_tiny_model

# A large init spreads the per-token losses, so weights differ visibly between tokens.
SPREAD = {"initializer_range": 1.0}


def first_batch(trainer) -> dict:
    trainer.model.train()
    return trainer._prepare_inputs(next(iter(trainer.get_train_dataloader())))


def gradients(model) -> torch.Tensor:
    return torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])


def test_gradient_is_the_weighted_sum_with_weights_held_constant(tiny_tokenizer, qa_dataset, talr_args):
    model = make_tiny_model(tiny_tokenizer, **SPREAD)
    trainer = TALRTrainer(model, args=talr_args(), train_dataset=qa_dataset, processing_class=tiny_tokenizer)
    inputs = first_batch(trainer)
    loss = trainer.compute_loss(model, dict(inputs))
    loss.backward()
    talr_grad = gradients(model)

    # Independent reference: tau = median of per-sequence mean losses, w = max(p^(1/tau), w_min) as constants.
    def reference_loss(stop_gradient: bool) -> torch.Tensor:
        model.zero_grad()
        outputs = model(**inputs, use_cache=False, fused_lm_head=True)
        nll, mask = -outputs.log_probs, outputs.label_mask
        means = [float(nll[row][mask[row]].mean().detach()) for row in range(nll.shape[0])]
        tau = statistics.median(means)
        source = nll.detach() if stop_gradient else nll
        weights = torch.where(mask, torch.exp(-source / tau).clamp(min=0.01), torch.zeros_like(nll))
        return (weights * nll).sum() / mask.sum()

    reference = reference_loss(stop_gradient=True)
    assert float(loss) == pytest.approx(float(reference), rel=1e-5)
    reference.backward()
    assert torch.allclose(talr_grad, gradients(model), atol=1e-6, rtol=1e-4)
    # The check can fail: letting the gradient flow through the weights changes it.
    reference_loss(stop_gradient=False).backward()
    assert not torch.allclose(talr_grad, gradients(model), atol=1e-6, rtol=1e-4)


def plain_sft_fields(tmp_path) -> dict:
    # Same seed and batch size as talr_args, so the first batch holds the same examples.
    return {"output_dir": str(tmp_path / "sft"), **FAST_CPU_DEFAULTS}


def sft_loss_and_grad(tokenizer, dataset, args):
    model = make_tiny_model(tokenizer, **SPREAD)
    trainer = SFTTrainer(model, args=args, train_dataset=dataset, processing_class=tokenizer)
    loss = trainer.compute_loss(model, dict(first_batch(trainer)))
    loss.backward()
    return loss.detach(), gradients(model)


def talr_loss_and_grad(tokenizer, dataset, args):
    model = make_tiny_model(tokenizer, **SPREAD)
    trainer = TALRTrainer(model, args=args, train_dataset=dataset, processing_class=tokenizer)
    loss = trainer.compute_loss(model, dict(first_batch(trainer)))
    loss.backward()
    return loss.detach(), gradients(model)


@pytest.mark.parametrize("normalize", ["none", "simplex"])
def test_infinite_tau_is_plain_mean_cross_entropy(tiny_tokenizer, qa_dataset, talr_args, tmp_path, normalize):
    sft = SFTConfig(**plain_sft_fields(tmp_path))
    sft_loss, sft_grad = sft_loss_and_grad(tiny_tokenizer, qa_dataset, sft)
    talr_loss, talr_grad = talr_loss_and_grad(tiny_tokenizer, qa_dataset, talr_args(tau=1e12, normalize=normalize))
    assert float(talr_loss) == pytest.approx(float(sft_loss), rel=1e-6)
    assert torch.allclose(talr_grad, sft_grad, atol=1e-7, rtol=1e-5)


def test_tau_one_without_floor_is_trl_dft(tiny_tokenizer, qa_dataset, talr_args, tmp_path):
    dft = SFTConfig(**plain_sft_fields(tmp_path), loss_type="dft")
    dft_loss, dft_grad = sft_loss_and_grad(tiny_tokenizer, qa_dataset, dft)
    talr_loss, talr_grad = talr_loss_and_grad(tiny_tokenizer, qa_dataset, talr_args(tau=1.0, w_min=0.0))
    assert float(talr_loss) == pytest.approx(float(dft_loss), rel=1e-5)
    assert torch.allclose(talr_grad, dft_grad, atol=1e-7, rtol=1e-4)


def one_sgd_step(tokenizer, dataset, args) -> torch.Tensor:
    """Parameters after one SGD step (lr 1, no clipping) from the same starting model."""
    model = make_tiny_model(tokenizer, **SPREAD)
    TALRTrainer(model, args=args, train_dataset=dataset, processing_class=tokenizer).train()
    return torch.cat([p.detach().flatten() for p in model.parameters()])


@pytest.mark.parametrize(
    ("talr_fields", "equal"),
    [
        ({"tau": 0.7}, True),  # fixed tau: every token's weight is known per token
        ({"tau_scope": "step"}, True),  # dynamic tau over the whole optimizer step
        ({"tau_scope": "step", "normalize": "simplex", "tau_from": "token"}, True),
        ({"tau_scope": "micro_batch"}, False),  # documented: each micro-batch has its own median
    ],
)
def test_batch_four_equals_two_by_two_accumulation(tiny_tokenizer, qa_dataset, talr_args, talr_fields, equal):
    dataset = qa_dataset.select(range(4))
    common = {"optim": "sgd", "learning_rate": 1.0, "max_grad_norm": 0.0, "lr_scheduler_type": "constant"}
    common.update(talr_fields)
    large = one_sgd_step(tiny_tokenizer, dataset, talr_args(per_device_train_batch_size=4, **common))
    accumulated = one_sgd_step(
        tiny_tokenizer, dataset, talr_args(per_device_train_batch_size=2, gradient_accumulation_steps=2, **common)
    )
    assert torch.allclose(large, accumulated, atol=1e-5, rtol=1e-4) is equal
