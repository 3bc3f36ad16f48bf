"""Every default the README's tables state, pinned to its source: changing one is a red test and a decision."""

from __future__ import annotations

import inspect

from hfplug_mmd_prior import latent_predictability_score, predictability_report
from hfplug_mmd_prior.config import MMDAEConfig
from hfplug_mmd_prior.metrics.lps.lps import LPS
from hfplug_mmd_prior.mmd import PAPER_SCALES, mmd2
from hfplug_mmd_prior.predictability import make_regressor


def test_paper_defaults(tmp_path):
    config = MMDAEConfig(output_dir=str(tmp_path))
    assert config.objective == "mmd"
    assert config.latent_dim == 12  # MNIST
    assert config.prior == {"name": "gaussian"}  # N(0, I)
    assert config.prior_weight == 0.3  # lambda
    assert config.mmd_estimator == "biased"
    assert config.kernel_scales == [0.5, 1.0, 2.0] and PAPER_SCALES == (0.5, 1.0, 2.0)
    assert inspect.signature(mmd2).parameters["scales"].default == (0.5, 1.0, 2.0)
    assert inspect.signature(mmd2).parameters["estimator"].default == "biased"
    assert config.beta == 1.0
    assert len(config.channels) == 4  # four conv layers per side
    assert config.learning_rate == 5e-4
    assert config.weight_decay == 0.0 and "adam" in str(config.optim).lower()  # Adam: AdamW without decay
    assert config.per_device_train_batch_size == 512
    assert config.num_train_epochs == 250


def test_our_defaults(tmp_path):
    config = MMDAEConfig(output_dir=str(tmp_path))
    assert config.vae_decoder_variance == 0.5
    assert config.architecture == "auto"
    assert config.channels == [32, 32, 64, 64]
    assert config.hidden_sizes == [256, 256]
    assert config.output_activation == "sigmoid"
    assert config.lr_scheduler_type == "constant" and config.warmup_steps == 0
    assert config.dataloader_drop_last is True
    assert (config.input_column, config.input_shape, config.rescale_factor) == ("pixel_values", None, None)


def test_lps_defaults():
    for function in (latent_predictability_score, predictability_report, LPS._compute):
        parameters = inspect.signature(function).parameters
        assert parameters["max_samples"].default == 5000
        assert parameters["test_fraction"].default == 0.3
    assert inspect.signature(predictability_report).parameters["regressor"].default == "mlp"
    mlp = make_regressor("mlp", seed=3).get_params()
    names = ("hidden_layer_sizes", "learning_rate_init", "alpha", "max_iter", "early_stopping", "n_iter_no_change")
    assert tuple(mlp[name] for name in names) == ((32, 32), 1e-3, 1e-4, 300, True, 10)
    assert mlp["random_state"] == 3
    gbm = make_regressor("gbm", seed=4).get_params()
    # LightGBM's defaults (31 leaves, 100 rounds, rate 0.1) plus early stopping on 10 % of the training split
    assert (gbm["max_leaf_nodes"], gbm["max_iter"], gbm["learning_rate"]) == (31, 100, 0.1)
    assert (gbm["early_stopping"], gbm["validation_fraction"], gbm["random_state"]) == (True, 0.1, 4)
    assert gbm["n_iter_no_change"] == 10
