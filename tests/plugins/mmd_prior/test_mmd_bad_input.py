"""Bad input gets a clear hfplug error naming the problem, before any heavy work."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from datasets import Dataset
from hfplug_mmd_prior import build_prior, covariance_ratio, latent_predictability_score, mmd2
from hfplug_mmd_prior.trainer import MMDAETrainer

from hfplug.errors import ConfigError, DatasetError


def test_prior_dimension_must_match_the_latent_size(tmp_path):
    bank = tmp_path / "bank.npy"
    np.save(bank, np.zeros((10, 3)))
    with pytest.raises(ConfigError, match=r"3 dimensions but the latent space has latent_dim=12"):
        build_prior({"name": "empirical", "path": str(bank)}, 12)
    spec = {"name": "hybrid", "marginals": [{"name": "gaussian", "dims": 4}, {"name": "uniform", "dims": 4}]}
    with pytest.raises(ConfigError, match=r"8 dimensions but the latent space has latent_dim=6"):
        build_prior(spec, 6)


def test_the_trainer_checks_the_prior_before_training(mmd_args, toy_points, tmp_path):
    spec = {"name": "hybrid", "marginals": [{"name": "gaussian", "dims": 3}]}
    with pytest.raises(ConfigError, match="latent_dim=2"):
        MMDAETrainer(args=mmd_args(latent_dim=2, prior=spec), train_dataset=toy_points)
    assert not (tmp_path / "out").exists()


def test_batch_size_one_is_refused():
    with pytest.raises(DatasetError, match="x has 1 row"):
        mmd2(torch.randn(1, 3), torch.randn(5, 3))
    with pytest.raises(DatasetError, match="y has 1 row"):
        mmd2(torch.randn(5, 3), torch.randn(1, 3), "unbiased")


@pytest.mark.parametrize(("objective", "smallest"), [("mmd", 2), ("kld", 13)])
def test_config_refuses_batches_too_small_for_the_objective(mmd_args, objective, smallest):
    with pytest.raises(ConfigError, match=rf"per_device_train_batch_size: .*at least {smallest}"):
        mmd_args(objective=objective, latent_dim=12, per_device_train_batch_size=smallest - 1)


def test_nan_latents_are_refused_everywhere():
    z = np.random.default_rng(0).standard_normal((100, 3))
    z[7, 1] = np.nan
    with pytest.raises(DatasetError, match="NaN"):
        mmd2(torch.tensor(z), torch.randn(100, 3, dtype=torch.float64))
    with pytest.raises(DatasetError, match="1 sample"):
        latent_predictability_score(z)
    with pytest.raises(DatasetError, match="NaN"):
        covariance_ratio(z)


def test_unknown_prior_names_close_matches_and_registered_ones():
    with pytest.raises(
        ConfigError, match=r"unknown prior 'gausian'. Did you mean 'gaussian'\?.*Known priors: gaussian"
    ):
        build_prior("gausian", 2)
    with pytest.raises(ConfigError, match=r"prior \(uniform\).*unexpected keyword argument 'width'.*low, high"):
        build_prior({"name": "uniform", "width": 2}, 2)
    with pytest.raises(ConfigError, match="low < high"):
        build_prior({"name": "uniform", "low": 1, "high": 0}, 2)
    with pytest.raises(ConfigError, match=r"marginals\[1\]: unknown marginal 'beta'"):
        build_prior({"name": "hybrid", "marginals": [{"name": "gaussian"}, {"name": "beta"}]}, 2)
    with pytest.raises(ConfigError, match="does not exist"):
        build_prior({"name": "empirical", "path": "missing.npy"}, 2)


def test_unknown_regressor_and_estimator():
    z = np.random.default_rng(0).standard_normal((100, 3))
    with pytest.raises(ConfigError, match=r"unknown regressor 'lgbm' \(the paper's 'lgbm' is 'gbm' here\)"):
        latent_predictability_score(z, regressor="lgbm")
    with pytest.raises(ConfigError, match="unknown estimator 'quadratic'"):
        mmd2(torch.randn(4, 2), torch.randn(4, 2), "quadratic")
    with pytest.raises(ConfigError, match="test_fraction"):
        latent_predictability_score(z, test_fraction=1.0)


def test_shapes_are_checked():
    with pytest.raises(DatasetError, match="x has 3 dimensions but y has 2"):
        mmd2(torch.randn(4, 3), torch.randn(4, 2))
    with pytest.raises(DatasetError, match="at least 2 latent dimensions"):
        latent_predictability_score(np.zeros((100, 1)))
    with pytest.raises(DatasetError, match="2-D"):
        covariance_ratio(np.zeros(10))


def test_dataset_problems_are_named(mmd_args, toy_points):
    with pytest.raises(DatasetError, match="no column 'pixel_values'; it has: x"):
        MMDAETrainer(args=mmd_args(), train_dataset=Dataset.from_dict({"x": [[1.0, 2.0]]}))
    with pytest.raises(DatasetError, match="empty"):
        MMDAETrainer(args=mmd_args(), train_dataset=Dataset.from_dict({"pixel_values": []}))
    nan_points = Dataset.from_dict({"pixel_values": [[float("nan"), 0.0]] * 64})
    trainer = MMDAETrainer(args=mmd_args(latent_dim=2), train_dataset=nan_points)
    with pytest.raises(DatasetError, match="NaN"):
        trainer.train()


def test_a_non_mmd_config_and_bad_values_are_refused(mmd_args, toy_points, tmp_path):
    from transformers import TrainingArguments

    with pytest.raises(ConfigError, match="MMDAEConfig"):
        MMDAETrainer(args=TrainingArguments(output_dir=str(tmp_path)), train_dataset=toy_points)
    for fields, named in (
        ({"objective": "wae"}, "objective"),
        ({"prior_weight": -1.0}, "prior_weight"),
        ({"beta": 0.0}, "beta"),
        ({"kernel_scales": [1.0, -2.0]}, "kernel_scales"),
        ({"architecture": "resnet"}, "architecture"),
        ({"prior": "{not json"}, "prior"),
    ):
        with pytest.raises(ConfigError, match=named):
            mmd_args(**fields)
    with pytest.raises(ConfigError, match=r"architecture: 'conv' takes \(channels, 28, 28\)"):
        MMDAETrainer(args=mmd_args(architecture="conv"), train_dataset=toy_points)
