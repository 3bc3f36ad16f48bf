"""Priors: each samples the distribution it names, specs parse from YAML/JSON, plugins can add one."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hfplug_mmd_prior import build_prior
from hfplug_mmd_prior.priors import save_latent_bank
from scipy import stats

import hfplug

N = 4000


def draw(spec, dim: int, seed: int = 0) -> np.ndarray:
    return build_prior(spec, dim).sample(N, generator=torch.Generator().manual_seed(seed)).numpy()


def passes_ks(values: np.ndarray, cdf) -> bool:
    return stats.kstest(values, cdf).pvalue > 0.01


def test_gaussian_and_uniform_marginals():
    gaussian = draw("gaussian", 3)
    assert gaussian.shape == (N, 3)
    assert all(passes_ks(gaussian[:, i], stats.norm.cdf) for i in range(3))
    uniform = draw({"name": "uniform", "low": -2.0, "high": 3.0}, 2)
    assert all(passes_ks(uniform[:, i], stats.uniform(loc=-2, scale=5).cdf) for i in range(2))


def test_gmm_marginal_is_the_mixture_it_names():
    spec = {"name": "gmm", "means": [-2.0, 1.0], "stds": [0.3, 0.6], "weights": [1, 3]}
    values = draw(spec, 2)

    def cdf(x):
        return 0.25 * stats.norm.cdf(x, -2.0, 0.3) + 0.75 * stats.norm.cdf(x, 1.0, 0.6)

    assert all(passes_ks(values[:, i], cdf) for i in range(2))
    assert not passes_ks(values[:, 0], stats.norm(loc=-0.25, scale=values[:, 0].std()).cdf)


def test_hybrid_reproduces_each_dimension_in_order_and_independently():
    spec = {
        "name": "hybrid",
        "marginals": [
            {"name": "gaussian", "dims": 2},
            {"name": "uniform", "low": 0.0, "high": 1.0},
            {"name": "gmm", "means": [-3, 3], "stds": 0.5},
        ],
    }
    values = draw(spec, 4)
    expected = [
        stats.norm.cdf,
        stats.norm.cdf,
        stats.uniform.cdf,
        lambda x: 0.5 * stats.norm.cdf(x, -3, 0.5) + 0.5 * stats.norm.cdf(x, 3, 0.5),
    ]
    assert [passes_ks(values[:, i], cdf) for i, cdf in enumerate(expected)] == [True] * 4
    assert not passes_ks(values[:, 2], stats.norm.cdf)  # the test can tell the families apart
    correlation = np.corrcoef(values, rowvar=False) - np.eye(4)
    assert np.abs(correlation).max() < 0.06


def test_empirical_prior_copies_the_bank(tmp_path):
    bank = torch.tensor([[0.0, 1.0], [5.0, -5.0], [2.0, 2.0]])
    path = save_latent_bank(bank, tmp_path / "bank.npy")
    values = draw({"name": "empirical", "path": str(path)}, 2)
    rows = {tuple(row) for row in values.tolist()}
    assert rows == {tuple(row) for row in bank.tolist()}  # every row is a bank row, each drawn
    counts = np.unique(values[:, 0], return_counts=True)[1]
    assert counts.min() > N / 3 - 150  # uniform with replacement


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_latent_banks_round_trip(tmp_path, suffix):
    bank = torch.randn(10, 3)
    path = save_latent_bank(bank, tmp_path / f"bank{suffix}")
    prior = build_prior({"name": "empirical", "path": str(path)}, 3)
    torch.testing.assert_close(prior.bank, bank)


def test_specs_from_json_text_as_on_the_command_line():
    prior = build_prior('{"name": "uniform", "low": -3, "high": 3}', 2)
    assert prior.marginals[0].low == -3.0


def test_same_generator_seed_same_samples():
    spec = {"name": "hybrid", "marginals": [{"name": "gmm", "dims": 2}, {"name": "uniform"}]}
    np.testing.assert_array_equal(draw(spec, 3, seed=1), draw(spec, 3, seed=1))
    assert not np.array_equal(draw(spec, 3, seed=1), draw(spec, 3, seed=2))


class VonMisesPrior:
    """A user's prior from their own plugin: angles on the circle, as (cos, sin) pairs."""

    def __init__(self, dim: int, concentration: float = 4.0) -> None:
        if dim % 2:
            raise ValueError("dim must be even")
        self.dim, self.concentration = dim, concentration

    def sample(self, n, generator=None):
        angles = torch.distributions.VonMises(0.0, self.concentration).sample((n, self.dim // 2))
        return torch.cat([angles.cos(), angles.sin()], dim=1)


class PriorPlugin:
    @hfplug.hookimpl
    def hfplug_register(self, registry):
        registry.model(
            "von_mises",
            f"{__name__}:VonMisesPrior",
            summary="Angles on circles as (cos, sin).",
            role="mmd_prior",
        )


def test_a_plugin_registers_a_new_prior(isolated_plugins):
    isolated_plugins.register(PriorPlugin(), name="prior-plugin")
    prior = build_prior({"name": "von_mises", "concentration": 2.0}, 4)
    samples = prior.sample(100)
    assert samples.shape == (100, 4)
    torch.testing.assert_close(samples[:, 0] ** 2 + samples[:, 2] ** 2, torch.ones(100))
