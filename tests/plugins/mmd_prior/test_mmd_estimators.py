"""Properties of the MMD^2 estimators and the median-heuristic kernel."""

from __future__ import annotations

import pytest
import torch
from hfplug_mmd_prior import mmd2
from hfplug_mmd_prior.mmd import ESTIMATORS, median_bandwidth, rbf_kernel


def sample(n: int, d: int = 3, seed: int = 0, shift: float = 0.0) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) + shift


@pytest.mark.parametrize("estimator", ["biased", "linear"])
def test_zero_on_identical_samples(estimator):
    x = sample(64)
    assert mmd2(x, x.clone(), estimator).item() == pytest.approx(0.0, abs=1e-12)


def test_biased_estimator_is_non_negative_and_grows_with_the_shift():
    values = [mmd2(sample(50, seed=1), sample(60, seed=2, shift=shift)).item() for shift in (0.0, 0.5, 1.0, 2.0)]
    assert all(v >= 0 for v in values)
    assert values == sorted(values)
    assert values[-1] > 10 * values[0]


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_symmetric(estimator):
    x, y = sample(40, seed=3), sample(40, seed=4, shift=0.7)
    assert mmd2(x, y, estimator).item() == pytest.approx(mmd2(y, x, estimator).item(), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("estimator", ["biased", "unbiased"])
def test_invariant_to_row_permutations(estimator):
    x, y = sample(40, seed=5), sample(30, seed=6, shift=0.5)
    permuted = mmd2(x[torch.randperm(40)], y[torch.randperm(30)], estimator).item()
    assert permuted == pytest.approx(mmd2(x, y, estimator).item(), rel=1e-9)


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("scale", [1e-3, 7.0, 1e3])
def test_invariant_to_scaling_both_samples(estimator, scale):
    x, y = sample(40, seed=7), sample(40, seed=8, shift=0.5)
    assert mmd2(scale * x, scale * y, estimator).item() == pytest.approx(mmd2(x, y, estimator).item(), rel=1e-6)


def test_unbiased_estimator_averages_zero_when_p_equals_q():
    draws = torch.tensor(
        [mmd2(sample(20, seed=2 * i), sample(20, seed=2 * i + 1), "unbiased").item() for i in range(300)]
    )
    spread = draws.std() / len(draws) ** 0.5
    assert (draws < 0).any()  # a U-statistic, not a squared quantity
    assert abs(draws.mean()) < 3 * spread
    biased = torch.tensor([mmd2(sample(20, seed=2 * i), sample(20, seed=2 * i + 1)).item() for i in range(300)])
    assert biased.mean() > 10 * spread  # the V-statistic is positively biased, so the test can tell them apart


def test_linear_estimator_is_unbiased_too():
    draws = torch.tensor(
        [mmd2(sample(40, seed=2 * i), sample(40, seed=2 * i + 1), "linear").item() for i in range(300)]
    )
    assert abs(draws.mean()) < 3 * draws.std() / len(draws) ** 0.5


def test_kernel_is_the_sum_of_three_rbfs_at_the_median_distance():
    x, y = sample(5, seed=9), sample(6, seed=10)
    sigma = median_bandwidth(x, y)
    pooled = torch.cat([x, y])
    distances = torch.cdist(pooled, pooled)
    assert sigma.item() == pytest.approx(distances[torch.triu_indices(11, 11, 1).unbind()].median().item())
    squared = torch.cdist(x, y) ** 2
    expected = sum(torch.exp(-squared / (2 * (m * sigma) ** 2)) for m in (0.5, 1.0, 2.0))
    torch.testing.assert_close(rbf_kernel(x, y, sigma, (0.5, 1.0, 2.0)), expected)


def test_bandwidth_is_detached():
    """The gradient must equal the gradient with sigma frozen at its current value."""
    x = sample(30, seed=11).requires_grad_(True)
    y = sample(30, seed=12, shift=1.0)
    (grad_heuristic,) = torch.autograd.grad(mmd2(x, y), x)
    frozen = median_bandwidth(x, y).item()
    (grad_frozen,) = torch.autograd.grad(mmd2(x, y, bandwidth=frozen), x)
    torch.testing.assert_close(grad_heuristic, grad_frozen)


def test_gradient_moves_codes_towards_the_target():
    x = sample(64, seed=13, shift=2.0).requires_grad_(True)
    y = sample(64, seed=14)
    before = mmd2(x, y).item()
    (grad,) = torch.autograd.grad(mmd2(x, y), x)
    after = mmd2(x.detach() - 0.5 * grad / grad.norm(dim=1, keepdim=True).mean(), y).item()
    assert after < before
