"""The TALR weight properties of the spec, on plain tensors."""

from __future__ import annotations

import math

import pytest
import torch
from hfplug_talr.weights import WeightParams, batch_median_tau, fit_weight_params, token_weights


def random_losses(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    nll = torch.rand(3, 7, generator=generator) * 8
    mask = torch.ones(3, 7, dtype=torch.bool)
    mask[0, :2] = False  # a prompt
    mask[2, 5:] = False  # padding
    return nll, mask


def test_weight_ratios_follow_probability_ratios_before_the_floor():
    nll, mask = random_losses()
    tau = 1.7
    weights = token_weights(nll, mask, WeightParams(tau=tau), w_min=0.0)
    probs = torch.exp(-nll)
    i, j = (1, 3), (2, 0)
    assert weights[i] / weights[j] == pytest.approx(float((probs[i] / probs[j]) ** (1 / tau)), rel=1e-5)
    # and ignored positions carry no weight
    assert torch.all(weights[~mask] == 0)


@pytest.mark.parametrize("normalize", ["none", "simplex"])
@pytest.mark.parametrize("w_min", [0.0, 0.05, 0.5])
def test_every_weight_is_at_least_w_min(normalize, w_min):
    nll, mask = random_losses(1)
    params = fit_weight_params(nll, mask, tau=None, tau_from="token", normalize=normalize, w_min=w_min)
    weights = token_weights(nll, mask, params, w_min)
    assert torch.all(weights[mask] >= w_min - 1e-7)


@pytest.mark.parametrize("w_min", [0.0, 0.3, 0.9, 1.0])
def test_simplex_weights_sum_to_one(w_min):
    nll, mask = random_losses(2)
    params = fit_weight_params(nll, mask, tau=0.5, tau_from="token", normalize="simplex", w_min=w_min)
    weights = token_weights(nll, mask, params, w_min)
    n_valid = int(mask.sum())
    assert float(weights[mask].sum() / n_valid) == pytest.approx(1.0, abs=1e-5)
    if w_min == 0.0:  # no floor: exactly the softmax of -nll / tau over the valid tokens
        expected = torch.softmax(-nll[mask] / 0.5, dim=0)
        assert torch.allclose(weights[mask] / n_valid, expected, atol=1e-6)
    if w_min == 1.0:  # the floor forces the uniform weighting
        assert torch.allclose(weights[mask], torch.ones(n_valid))


def test_tau_is_the_median_over_valid_tokens_only():
    nll = torch.tensor([[9.0, 9.0, 1.0, 2.0, 3.0], [4.0, 5.0, 0.0, 0.0, 0.0]])
    mask = torch.tensor([[False, False, True, True, True], [True, True, False, False, False]])
    assert batch_median_tau(nll, mask, "token") == pytest.approx(3.0)  # median of 1,2,3,4,5
    assert batch_median_tau(nll, mask, "sequence") == pytest.approx(3.25)  # median of 2.0 and 4.5
    changed = nll.clone()
    changed[~mask] = 1000.0  # prompt and padding losses must not move tau
    assert batch_median_tau(changed, mask, "token") == pytest.approx(3.0)
    assert batch_median_tau(changed, mask, "sequence") == pytest.approx(3.25)


def test_fixed_tau_is_used_as_given():
    nll, mask = random_losses()
    assert fit_weight_params(nll, mask, tau=2.5, tau_from="token", normalize="none", w_min=0.0).tau == 2.5


def test_huge_tau_gives_uniform_weights():
    nll, mask = random_losses()
    for normalize in ("none", "simplex"):
        params = fit_weight_params(nll, mask, tau=1e12, tau_from="token", normalize=normalize, w_min=0.01)
        weights = token_weights(nll, mask, params, 0.01)
        assert torch.allclose(weights[mask], torch.ones(int(mask.sum())), atol=1e-6)


def test_weights_are_detached():
    nll, mask = random_losses()
    nll.requires_grad_(True)
    weights = token_weights(nll, mask, WeightParams(tau=1.0), 0.01)
    assert not weights.requires_grad


def test_large_losses_do_not_underflow_to_nan_in_simplex_mode():
    nll = torch.tensor([[500.0, 900.0, 1200.0]])
    mask = torch.ones(1, 3, dtype=torch.bool)
    params = fit_weight_params(nll, mask, tau=1.0, tau_from="token", normalize="simplex", w_min=0.0)
    weights = token_weights(nll, mask, params, 0.0)
    assert math.isfinite(params.log_scale)
    assert torch.allclose(weights, torch.tensor([[3.0, 0.0, 0.0]]))
