"""The loss properties of the spec, on plain tensors (no model): gradients, variants, shift (in)variance."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hfplug_infopo.losses import infopo_loss

BETA = 0.3


def log_ratios(seed: int = 0, pairs: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    chosen = torch.randn(pairs, generator=generator, dtype=torch.float64) * 3
    rejected = torch.randn(pairs, generator=generator, dtype=torch.float64) * 3
    return chosen.requires_grad_(True), rejected.requires_grad_(True)


def per_pair_gradients(variant: str, chosen, rejected, beta: float = BETA):
    infopo_loss(chosen, rejected, beta, variant).sum().backward()
    return chosen.grad, rejected.grad


def dpo_loss(chosen, rejected, beta: float = BETA):
    """trl's default ('sigmoid') DPO loss per pair, for the side-by-side comparison."""
    return -F.logsigmoid(beta * (chosen - rejected))


def test_chosen_gradient_is_minus_beta_whatever_the_rejected_term():
    chosen, rejected = log_ratios()
    grad_chosen, _ = per_pair_gradients("nwj", chosen, rejected)
    assert torch.allclose(grad_chosen, torch.full_like(grad_chosen, -BETA), rtol=0, atol=1e-15)
    # Moving the rejected log-ratios anywhere (even to where DPO saturates) leaves it exactly -beta.
    for shift in (-50.0, 0.0, 50.0):
        chosen2 = chosen.detach().clone().requires_grad_(True)
        rejected2 = (rejected.detach() + shift).requires_grad_(True)
        grad_chosen2, _ = per_pair_gradients("nwj", chosen2, rejected2)
        assert torch.equal(grad_chosen2, grad_chosen)


def test_dpo_chosen_gradient_saturates_where_infopo_does_not():
    """The contrast the paper draws: DPO's chosen gradient vanishes once the margin is large."""
    chosen = torch.tensor([60.0], dtype=torch.float64, requires_grad=True)
    rejected = torch.tensor([-60.0], dtype=torch.float64)
    dpo_loss(chosen, rejected).sum().backward()
    assert abs(float(chosen.grad)) < 1e-10
    chosen.grad = None
    infopo_loss(chosen, rejected, BETA).sum().backward()
    assert float(chosen.grad) == -BETA


def test_rejected_gradient_is_beta_exp_beta_r_minus_one():
    chosen, rejected = log_ratios(1)
    _, grad_rejected = per_pair_gradients("nwj", chosen, rejected)
    expected = BETA * torch.exp(BETA * rejected.detach() - 1)
    assert torch.allclose(grad_rejected, expected, rtol=1e-12, atol=0)
    assert torch.all(grad_rejected > 0)


def test_rejected_gradient_vanishes_as_the_rejected_log_ratio_goes_to_minus_infinity():
    rejected = torch.tensor([0.0, -10.0, -100.0, -1000.0], dtype=torch.float64, requires_grad=True)
    chosen = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    _, grad_rejected = per_pair_gradients("nwj", chosen, rejected)
    assert torch.all(grad_rejected[1:] < grad_rejected[:-1])  # strictly decreasing
    assert float(grad_rejected[-1]) < 1e-100
    # and it does not depend on the chosen log-ratio
    chosen2 = torch.full((4,), 30.0, dtype=torch.float64, requires_grad=True)
    rejected2 = rejected.detach().clone().requires_grad_(True)
    _, grad_rejected2 = per_pair_gradients("nwj", chosen2, rejected2)
    assert torch.equal(grad_rejected, grad_rejected2)


def test_adding_a_constant_to_both_log_ratios_changes_infopo_but_not_dpo():
    chosen, rejected = log_ratios(2)
    chosen, rejected = chosen.detach(), rejected.detach()
    for constant in (-2.0, 0.5, 3.0):
        assert torch.allclose(dpo_loss(chosen + constant, rejected + constant), dpo_loss(chosen, rejected), atol=1e-12)
        for variant in ("nwj", "shifted", "ukl"):
            shifted = infopo_loss(chosen + constant, rejected + constant, BETA, variant)
            assert not torch.allclose(shifted, infopo_loss(chosen, rejected, BETA, variant), atol=1e-6)


@pytest.mark.parametrize(
    ("variant", "formula"),
    [
        ("nwj", lambda w, r, b: -b * w + math.exp(b * r - 1)),
        ("shifted", lambda w, r, b: -(1 + b * w) + math.exp(b * r)),
        ("ukl", lambda w, r, b: -w + math.exp(r)),
    ],
)
def test_each_variant_matches_its_formula(variant, formula):
    chosen, rejected = log_ratios(3)
    chosen, rejected = chosen.detach(), rejected.detach()
    for beta in (0.05, 0.3, 2.0):
        losses = infopo_loss(chosen, rejected, beta, variant)
        expected = [formula(w, r, beta) for w, r in zip(chosen.tolist(), rejected.tolist(), strict=True)]
        assert losses.tolist() == pytest.approx(expected, rel=1e-12)


def test_nwj_and_shifted_differ_by_moving_the_critic_by_one():
    """shifted(beta) at r_l equals nwj at r_l + 1/beta on the rejected side, minus 1 on the chosen side."""
    chosen, rejected = log_ratios(4)
    chosen, rejected = chosen.detach(), rejected.detach()
    shifted = infopo_loss(chosen, rejected, BETA, "shifted")
    nwj = infopo_loss(chosen, rejected + 1 / BETA, BETA, "nwj")
    assert torch.allclose(shifted, nwj - 1, atol=1e-12)


def test_policy_equal_to_reference_gives_the_bound_at_zero():
    zeros = torch.zeros(3)
    assert infopo_loss(zeros, zeros, BETA, "nwj").tolist() == pytest.approx([math.exp(-1)] * 3)
    assert infopo_loss(zeros, zeros, BETA, "shifted").tolist() == pytest.approx([0.0] * 3)


def test_bf16_inputs_are_computed_in_float32():
    chosen = torch.tensor([0.1, -0.2], dtype=torch.bfloat16)
    assert infopo_loss(chosen, chosen, BETA).dtype == torch.float32


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"variant": "nce"}, "Unknown InfoPO variant 'nce'"),
        ({"beta": 0.0}, "beta must be a positive"),
        ({"beta": -1.0}, "beta must be a positive"),
        ({"beta": float("nan")}, "beta must be a positive"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    chosen, rejected = torch.zeros(2), torch.zeros(2)
    arguments = {"beta": BETA, "variant": "nwj", **kwargs}
    with pytest.raises(ValueError, match=message):
        infopo_loss(chosen, rejected, arguments["beta"], arguments["variant"])


def test_mismatched_shapes_are_refused():
    with pytest.raises(ValueError, match="same shape"):
        infopo_loss(torch.zeros(2), torch.zeros(3), BETA)
