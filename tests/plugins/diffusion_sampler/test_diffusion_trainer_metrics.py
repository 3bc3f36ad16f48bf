"""The numbers the trainer logs, ``kl`` (the loss) and ``kl_marginal``, against a from-scratch computation on the
same teacher rollout: the mean over every (step, k >= 2) of sum_v p(v) (log p(v) - log q(v)), with p the teacher's
distribution at j_k given t_<k, q the sampler's (``kl``) or the step's first-pass marginal at j_k (``kl_marginal``)."""

from __future__ import annotations

import copy

import pytest
import torch
from datasets import Dataset
from hfplug_diffusion_sampler.loop import MaskedDiffusionModel
from hfplug_diffusion_sampler.sampler import JointSampler
from hfplug_diffusion_sampler.trainer.objective import distillation_batch, distillation_loss, kl_divergence
from hfplug_diffusion_sampler.trainer.trajectories import RolloutSettings, teacher_rollout

import hfplug
from hfplug.testing.models import TINY_CORPUS

from .conftest import prompts_with_left_padding


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


def random_output_sampler(model, seed: int = 0) -> JointSampler:
    """A float32 sampler with random output projections, so its q is neither the marginal nor the teacher."""
    torch.manual_seed(seed)
    sampler = JointSampler(hidden_size=model.hidden_size, vocab_size=model.vocab_size, num_attention_heads=2)
    with torch.no_grad():
        for layer in (sampler.attention_output, sampler.mlp_down):
            layer.weight.normal_(0, 0.5)
    return sampler


def sampler_logits_from_scratch(sampler, model, batch, key_mask) -> torch.Tensor:
    """The frozen head on the sampler's u (the sampler in float32), the mask token excluded."""
    with torch.no_grad():
        states = sampler(batch.hidden.float(), batch.revealed.float(), batch.query_positions, key_mask)
    logits = states.double() @ model.head.weight.double().T + model.head.bias.double()
    logits[:, model.mask_token_id] = float("-inf")
    return logits


def test_distillation_loss_and_its_marginal_baseline_on_a_model_whose_columns_depend_on_each_other(toy_mdlm):
    """Left-padded prompts: the sampler attends to the rollout's unpadded columns only."""
    base = MaskedDiffusionModel(toy_mdlm, toy_mdlm.mask_token_id)
    prompts, attention = prompts_with_left_padding(toy_mdlm, seed=2, rows=3, length=4)
    torch.manual_seed(2)
    records = teacher_rollout(base, prompts, attention, RolloutSettings(tokens_per_step=4, max_new_tokens=9))
    batch = distillation_batch(records, base)
    assert batch.key_mask is not None
    sampler = random_output_sampler(toy_mdlm)
    loss, marginal = distillation_loss(sampler, base, batch)
    wanted = kl_from_scratch(
        batch.teacher_logits, sampler_logits_from_scratch(sampler, toy_mdlm, batch, batch.key_mask)
    )
    unmasked = sampler_logits_from_scratch(sampler, toy_mdlm, batch, None)
    assert wanted != pytest.approx(kl_from_scratch(batch.teacher_logits, unmasked), rel=1e-3)  # padding matters
    wanted_marginal = kl_from_scratch(batch.teacher_logits, batch.marginal_logits) / len(batch)
    assert wanted_marginal > 1e-3  # revealing tokens moves this model's other columns
    assert float(loss.detach()) == pytest.approx(wanted / len(batch), rel=1e-4)
    assert float(marginal) == pytest.approx(wanted_marginal, rel=1e-3)
    assert loss.requires_grad and not marginal.requires_grad


def test_distillation_loss_runs_the_sampler_in_its_own_dtype(toy_mdlm):
    """A float64 base model's rollouts (float64 hidden states and embeddings) train a float32 sampler: the
    examples are cast to the sampler's dtype, and the loss is the KL computed from scratch."""
    wide = copy.deepcopy(toy_mdlm).double()
    base = MaskedDiffusionModel(wide, wide.mask_token_id)
    prompts, attention = prompts_with_left_padding(wide, seed=4, rows=2, length=3)
    torch.manual_seed(4)
    records = teacher_rollout(base, prompts, attention, RolloutSettings(tokens_per_step=3, max_new_tokens=5))
    batch = distillation_batch(records, base)
    assert batch.hidden.dtype == batch.revealed.dtype == torch.float64
    sampler = random_output_sampler(wide, seed=1)
    loss, _ = distillation_loss(sampler, base, batch)
    wanted = kl_from_scratch(batch.teacher_logits, sampler_logits_from_scratch(sampler, wide, batch, batch.key_mask))
    assert float(loss.detach()) == pytest.approx(wanted / len(batch), rel=1e-4)


def test_kl_divergence_sums_over_the_vocabulary_whatever_the_leading_shape():
    generator = torch.Generator().manual_seed(0)
    teacher, student = torch.randn(2, 2, 3, 5, generator=generator, dtype=torch.float64).unbind(0)
    teacher[0, 1, 2] = float("-inf")
    got = kl_divergence(teacher, student)
    assert got.shape == (2, 3)
    for row in range(2):
        for column in range(3):
            wanted = kl_from_scratch(teacher[row, column][None], student[row, column][None])
            assert float(got[row, column]) == pytest.approx(wanted, rel=1e-5)


def test_kl_divergence_ignores_tokens_the_teacher_never_draws():
    teacher = torch.tensor([[0.0, 1.0, float("-inf")], [2.0, 0.0, -1.0]])
    student = torch.tensor([[1.0, 0.0, float("-inf")], [0.0, 0.0, 0.0]])
    got = kl_divergence(teacher, student)
    assert got.tolist() == pytest.approx(
        [kl_from_scratch(teacher[:1], student[:1]), kl_from_scratch(teacher[1:], student[1:])]
    )
    assert bool(torch.isfinite(got).all())


def test_training_examples_hold_the_revealed_embeddings_in_the_hidden_states_dtype(toy_mdlm):
    """A base whose input embeddings are float32 while the states feeding its LM head are float64 (as models
    that run the head in higher precision): the examples' revealed embeddings are cast to the states' dtype."""
    mixed = copy.deepcopy(toy_mdlm).double()
    mixed.embed.float()
    mixed.mixing.data = mixed.mixing.data.float()  # float32 embeddings and context, float64 positions: float64 states
    base = MaskedDiffusionModel(mixed, mixed.mask_token_id)
    torch.manual_seed(0)
    prompts = torch.randint(1, mixed.mask_token_id, (2, 3))
    (record,) = teacher_rollout(base, prompts, None, RolloutSettings(tokens_per_step=3, max_new_tokens=3))
    assert record.hidden.dtype == torch.float64
    batch = distillation_batch([record], base)
    embeddings = mixed.get_input_embeddings()
    for row in range(2):
        last = batch.revealed[2 + row]  # k = 3: t_1 and t_2 revealed
        wanted = torch.zeros_like(last)
        for column, token in zip(record.positions[row, :2].tolist(), record.tokens[row, :2].tolist(), strict=True):
            wanted[column] = embeddings(torch.tensor(token)).double()
        assert last.dtype == torch.float64
        torch.testing.assert_close(last, wanted)
