"""The numbers the trainer logs, ``kl`` (the loss) and ``kl_marginal``, against a from-scratch computation on the
same teacher rollout: the mean over every (step, k >= 2) of sum_v p(v) (log p(v) - log q(v)), with p the teacher's
distribution at j_k given t_<k, q the sampler's (``kl``) or the step's first-pass marginal at j_k (``kl_marginal``)."""

from __future__ import annotations

import pytest
import torch
from datasets import Dataset
from hfplug_diffusion_sampler.loop import MaskedDiffusionModel
from hfplug_diffusion_sampler.sampler import JointSampler
from hfplug_diffusion_sampler.trainer.objective import distillation_batch, distillation_loss, kl_divergence
from hfplug_diffusion_sampler.trainer.trajectories import RolloutSettings, teacher_rollout

import hfplug
from hfplug.testing.models import TINY_CORPUS


def kl_from_scratch(teacher_logits: torch.Tensor, other_logits: torch.Tensor) -> float:
    """sum_v p(v) (log p(v) - log q(v)) over the teacher's support, in float64, one row at a time."""
    total = 0.0
    for teacher_row, other_row in zip(teacher_logits.double(), other_logits.double(), strict=True):
        log_p = teacher_row - torch.logsumexp(teacher_row, dim=0)
        log_q = other_row - torch.logsumexp(other_row, dim=0)
        support = teacher_row > float("-inf")
        total += float((log_p[support].exp() * (log_p[support] - log_q[support])).sum())
    return total


def test_logged_kl_and_kl_marginal_equal_a_from_scratch_computation(tmp_path, tiny_mdlm, mdlm_tokenizer):
    torch.manual_seed(5)
    sampler = JointSampler(hidden_size=32, vocab_size=tiny_mdlm.config.vocab_size, num_attention_heads=2)
    with torch.no_grad():
        for layer in (sampler.attention_output, sampler.mlp_down):
            layer.weight.normal_(0, 0.5)
    config = hfplug.load_config("trainer", "joint_sampler")(
        output_dir=str(tmp_path),
        per_device_train_batch_size=3,
        report_to=[],
        use_cpu=True,
        max_new_tokens=7,
        prompt_length=4,
        tokens_per_step=3,
    )
    trainer = hfplug.load("trainer", "joint_sampler")(
        model=tiny_mdlm,
        args=config,
        train_dataset=Dataset.from_dict({"text": list(TINY_CORPUS)}),
        processing_class=mdlm_tokenizer,
        sampler=sampler,
    )
    inputs = next(iter(trainer.get_train_dataloader()))
    torch.manual_seed(11)
    loss = trainer.compute_loss(trainer.model, inputs)
    trainer.log({})
    logged = trainer.state.log_history[-1]

    base = MaskedDiffusionModel(tiny_mdlm, tiny_mdlm.config.mask_token_id)
    torch.manual_seed(11)  # the same rollout: the teacher draws from the same random stream
    rollout = RolloutSettings(tokens_per_step=3, max_new_tokens=7, position_choice="confidence")
    records = teacher_rollout(base, inputs["input_ids"], inputs.get("attention_mask"), rollout)
    batch = distillation_batch(records, base)
    assert len(batch) == 3 * (2 + 2 + 0)  # steps of 3, 3, 1 tokens: k = 2..K of each, for 3 prompts
    with torch.no_grad():
        states = trainer.model(batch.hidden, batch.revealed, batch.query_positions, batch.key_mask)
        sampler_logits = states @ tiny_mdlm.decoder.weight.T + tiny_mdlm.decoder.bias
    sampler_logits[:, base.mask_token_id] = float("-inf")
    wanted_kl = kl_from_scratch(batch.teacher_logits, sampler_logits) / len(batch)
    wanted_marginal = kl_from_scratch(batch.teacher_logits, batch.marginal_logits) / len(batch)
    assert wanted_kl != pytest.approx(wanted_marginal, rel=0.05)  # the random sampler is not the marginal
    assert float(loss.detach()) == pytest.approx(wanted_kl, rel=1e-4)
    assert logged["kl"] == pytest.approx(wanted_kl, rel=1e-4)
    # This random LM barely changes its marginals when a token is revealed (kl_marginal ~ 4e-7, at float32's
    # resolution of the log-probabilities); the toy model below pins the marginal's KL tightly.
    assert logged["kl_marginal"] == pytest.approx(wanted_marginal, rel=0.05)


def test_distillation_loss_and_its_marginal_baseline_on_a_model_whose_columns_depend_on_each_other(toy_mdlm):
    base = MaskedDiffusionModel(toy_mdlm, toy_mdlm.mask_token_id)
    torch.manual_seed(2)
    prompts = torch.randint(1, toy_mdlm.mask_token_id, (3, 4))
    records = teacher_rollout(base, prompts, None, RolloutSettings(tokens_per_step=4, max_new_tokens=9))
    batch = distillation_batch(records, base)
    sampler = JointSampler(hidden_size=toy_mdlm.hidden_size, vocab_size=toy_mdlm.vocab_size, num_attention_heads=2)
    with torch.no_grad():
        for layer in (sampler.attention_output, sampler.mlp_down):
            layer.weight.normal_(0, 0.5)
    loss, marginal = distillation_loss(sampler, base, batch)
    with torch.no_grad():
        states = sampler(batch.hidden, batch.revealed, batch.query_positions, batch.key_mask)
    sampler_logits = states @ toy_mdlm.head.weight.T + toy_mdlm.head.bias
    sampler_logits[:, base.mask_token_id] = float("-inf")
    wanted_marginal = kl_from_scratch(batch.teacher_logits, batch.marginal_logits) / len(batch)
    assert wanted_marginal > 1e-3  # revealing tokens moves this model's other columns
    assert float(loss.detach()) == pytest.approx(kl_from_scratch(batch.teacher_logits, sampler_logits) / len(batch))
    assert float(marginal) == pytest.approx(wanted_marginal, rel=1e-3)
    assert loss.requires_grad and not marginal.requires_grad


def test_kl_divergence_ignores_tokens_the_teacher_never_draws():
    teacher = torch.tensor([[0.0, 1.0, float("-inf")], [2.0, 0.0, -1.0]])
    student = torch.tensor([[1.0, 0.0, float("-inf")], [0.0, 0.0, 0.0]])
    got = kl_divergence(teacher, student)
    assert got.tolist() == pytest.approx(
        [kl_from_scratch(teacher[:1], student[:1]), kl_from_scratch(teacher[1:], student[1:])]
    )
    assert bool(torch.isfinite(got).all())
