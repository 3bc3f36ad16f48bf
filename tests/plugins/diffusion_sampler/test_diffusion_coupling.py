"""Property 3, the toy coupling test: two masked slots whose true joint is {(a, a), (b, b)}.

Marginal parallel sampling disagrees about half the time, exact sequential sampling never; a sampler
trained with the ADJUST objective nearly never, with its exact KL (enumerated over t_1) near 0; a
sampler blind to t_<k (``fusion="none"``) can only learn the marginal and stays near 50%."""

from __future__ import annotations

import math

import pytest
import torch
from hfplug_diffusion_sampler.loop import MaskedDiffusionModel
from hfplug_diffusion_sampler.sampler import JointSampler
from hfplug_diffusion_sampler.trainer.objective import distillation_batch, distillation_loss, kl_divergence
from hfplug_diffusion_sampler.trainer.trajectories import RolloutSettings, teacher_rollout

from .conftest import MASK, PROMPT, inconsistent_share

ROWS = 2000
ROLLOUT = RolloutSettings(tokens_per_step=2, max_new_tokens=2)


def generate(strategies, model, name, **settings):
    torch.manual_seed(0)
    prompt = torch.full((ROWS, 1), PROMPT)
    return strategies[name](model=model, input_ids=prompt, max_new_tokens=2, do_sample=True, **settings)


def train_sampler(model, fusion: str, steps: int = 100) -> JointSampler:
    torch.manual_seed(0)
    base = MaskedDiffusionModel(model, MASK)
    sampler = JointSampler(hidden_size=8, vocab_size=5, num_attention_heads=1, intermediate_size=32, fusion=fusion)
    optimizer = torch.optim.Adam(sampler.parameters(), lr=0.03)
    # Every rollout of this toy starts from the same state, so one rollout of 256 rows is a fair sample of p*.
    batch = distillation_batch(teacher_rollout(base, torch.full((256, 1), PROMPT), None, ROLLOUT), base)
    for _ in range(steps):
        loss, _ = distillation_loss(sampler, base, batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return sampler.eval()


def enumerated_kl(model, sampler) -> float:
    """KL(p* || q) of the one two-token step, summed exactly over every first token t_1."""
    base = MaskedDiffusionModel(model, MASK)
    canvas = torch.tensor([[PROMPT, MASK, MASK]])
    records = teacher_rollout(base, canvas[:, :1], None, ROLLOUT)
    first, second = records[0].positions[0].tolist()
    logits, hidden = base.full_pass(canvas, None, with_hidden=True)
    first_token = torch.softmax(logits[0, first], dim=-1)
    total = 0.0
    for token in range(5):
        if first_token[token] == 0:
            continue
        revealed_canvas = canvas.clone()
        revealed_canvas[0, first] = token
        teacher = base.full_pass(revealed_canvas, None)[0][:, second]
        revealed = torch.zeros_like(hidden)
        revealed[0, first] = base.embed(torch.tensor(token))
        with torch.no_grad():
            student = base.logits_of(sampler(hidden, revealed, torch.tensor([second])))
        total += float(first_token[token] * kl_divergence(teacher, student)[0])
    return total


def test_marginal_sampling_is_inconsistent_about_half_the_time(coupling_model, strategies):
    share = inconsistent_share(generate(strategies, coupling_model, "marginal", tokens_per_step=2))
    assert 0.45 < share < 0.55


def test_exact_sampling_is_never_inconsistent(coupling_model, strategies):
    output = generate(strategies, coupling_model, "exact", tokens_per_step=2)
    assert inconsistent_share(output) == 0.0
    assert 0.45 < float((output[:, 1] == 2).float().mean()) < 0.55  # and both outcomes happen


@pytest.fixture(scope="module")
def trained(coupling_model):
    return train_sampler(coupling_model, "add")


def test_trained_sampler_is_nearly_consistent_with_exact_kl_near_zero(coupling_model, strategies, trained):
    share = inconsistent_share(
        generate(strategies, coupling_model, "joint_sampler", tokens_per_step=2, sampler=trained)
    )
    assert share < 0.03
    assert enumerated_kl(coupling_model, trained) < 0.05  # the untrained sampler (= marginal) is log 2 = 0.69


def test_sampler_blind_to_revealed_tokens_stays_at_half(coupling_model, strategies):
    blind = train_sampler(coupling_model, "none", steps=40)
    share = inconsistent_share(generate(strategies, coupling_model, "joint_sampler", tokens_per_step=2, sampler=blind))
    assert 0.44 < share < 0.56
    assert enumerated_kl(coupling_model, blind) > 0.6 * math.log(2)


def test_untrained_sampler_kl_is_the_marginal_kl(coupling_model):
    fresh = JointSampler(hidden_size=8, vocab_size=5, num_attention_heads=1)
    assert enumerated_kl(coupling_model, fresh) == pytest.approx(math.log(2), abs=1e-3)
