"""The Latent Predictability Score: the paper's key case, independence, determinism, the evaluate module."""

from __future__ import annotations

import numpy as np
import pytest
from hfplug_mmd_prior import covariance_ratio, latent_predictability_score, predictability_report

# Boosting needs more rows than the MLP to fit z1^2 to its heavy tail and to stop before fitting
# noise; the MLP is the slow one. Both are the sizes at which the paper's properties show.
SAMPLES = {"mlp": 1500, "gbm": 4000}


def squared_pair(n: int = 1500, seed: int = 0) -> np.ndarray:
    z1 = np.random.default_rng(seed).standard_normal(n)
    return np.stack([z1, z1**2 - 1], axis=1)


@pytest.mark.parametrize("regressor", ["mlp", "gbm"])
def test_z2_equal_to_z1_squared_scores_one_half(regressor):
    """z2 is a function of z1 (R^2 ~ 1) but z1 is not of z2 (sign lost, R^2 ~ 0): LPS ~ 0.5."""
    report = predictability_report(squared_pair(SAMPLES[regressor]), regressor, seed=0)
    assert report.r2_per_dim[1] > 0.9
    assert abs(report.r2_per_dim[0]) < 0.1
    assert 0.42 < report.lps < 0.58


def test_the_covariance_ratio_is_blind_to_the_same_dependence():
    # Zero covariance in expectation, so the ratio looks excellent; LPS above is what catches it.
    assert covariance_ratio(squared_pair(20000)) > 20


def test_a_linear_regressor_misses_it():
    """The reason non-linear regressors are essential: least squares sees nothing here."""
    assert abs(latent_predictability_score(squared_pair(), regressor="linear")) < 0.05


@pytest.mark.parametrize("regressor", ["mlp", "gbm"])
def test_independent_gaussians_score_about_zero(regressor):
    z = np.random.default_rng(1).standard_normal((SAMPLES[regressor], 3))
    assert abs(latent_predictability_score(z, regressor=regressor, seed=0)) < 0.05


def test_a_linear_mixture_is_predictable():
    rng = np.random.default_rng(2)
    sources = rng.standard_normal((2000, 2))
    z = np.column_stack([sources[:, 0], sources[:, 0] + 0.1 * sources[:, 1], sources[:, 1]])
    assert latent_predictability_score(z, regressor="gbm") > 0.6


def test_same_seed_same_score_and_the_seed_is_used():
    z = squared_pair(600, seed=3)
    for regressor in ("mlp", "gbm"):
        first = latent_predictability_score(z, regressor=regressor, seed=4, max_samples=300)
        assert latent_predictability_score(z, regressor=regressor, seed=4, max_samples=300) == first
        assert latent_predictability_score(z, regressor=regressor, seed=5, max_samples=300) != first


def test_sample_size_and_split_are_reported():
    report = predictability_report(np.random.default_rng(6).standard_normal((1000, 3)), "gbm", max_samples=500)
    assert (report.n_train, report.n_test) == (350, 150)
    report = predictability_report(np.random.default_rng(6).standard_normal((100, 3)), "gbm", test_fraction=0.5)
    assert (report.n_train, report.n_test) == (50, 50)


def test_a_constant_dimension_is_left_out_and_listed():
    z = np.random.default_rng(7).standard_normal((500, 3))
    z[:, 1] = 2.5
    report = predictability_report(z, "gbm")
    assert report.constant_dims == [1]
    assert np.isnan(report.r2_per_dim[1])
    assert abs(report.lps) < 0.1


def test_evaluate_module_loads_offline_and_agrees_with_the_function(monkeypatch, tmp_path):
    import evaluate

    import hfplug

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_MODULES_CACHE", str(tmp_path / "modules"))
    metric = evaluate.load(hfplug.load("metric", "lps"))
    z = squared_pair(800)
    result = metric.compute(latents=z.tolist(), regressor="gbm", seed=2)
    assert result["lps"] == pytest.approx(latent_predictability_score(z, regressor="gbm", seed=2), abs=1e-9)
    assert len(result["r2_per_dim"]) == 2 and result["regressor"] == "gbm"


def test_a_collapsed_dimension_of_float_noise_is_left_out():
    """A collapsed VAE dimension varies by float noise; standardising it gave R^2 = -7e30 (measured)."""
    z = np.random.default_rng(8).standard_normal((1000, 3))
    z[:, 2] = 0.01 + 1e-9 * np.random.default_rng(9).standard_normal(1000)
    report = predictability_report(z, "gbm")
    assert report.constant_dims == [2]
    assert abs(report.lps) < 0.1
