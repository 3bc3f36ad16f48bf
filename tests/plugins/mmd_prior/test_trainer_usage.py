"""The mmd_ae trainer as a Trainer: objectives, their named terms and logs (checked against values computed
here), the model it builds from the config, options passed to Trainer, saving, loading, resuming, by name."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
import transformers
from hfplug_mmd_prior import MMDAutoencoder
from hfplug_mmd_prior.config import MMDAEConfig
from hfplug_mmd_prior.trainer import MMDAETrainer
from transformers import HfArgumentParser

import hfplug

from .conftest import square_dataset

LOGGED = {
    "mmd": {"reconstruction_mse", "mmd2"},
    "kld": {"reconstruction_mse", "kl"},
    "vae": {"reconstruction_mse", "kl"},
    "ae": {"reconstruction_mse"},
}


def test_components_load_by_name():
    assert hfplug.load("trainer", "mmd_ae") is MMDAETrainer
    assert hfplug.load_config("trainer", "mmd_ae") is MMDAEConfig
    assert hfplug.load("model", "mmd_ae") is MMDAutoencoder
    assert hfplug.get("model", "mmd_ae").paper == "arXiv:2510.11953"


def test_paper_defaults_and_command_line_parsing(tmp_path):
    (config,) = HfArgumentParser(MMDAEConfig).parse_args_into_dataclasses(
        ["--output_dir", str(tmp_path), "--prior", '{"name": "uniform", "low": -2}', "--kernel_scales", "1", "2"]
    )
    assert config.prior == {"name": "uniform", "low": -2}
    assert config.kernel_scales == [1.0, 2.0]
    default = MMDAEConfig(output_dir=str(tmp_path))
    assert (default.learning_rate, default.per_device_train_batch_size, default.prior_weight) == (5e-4, 512, 0.3)
    assert (default.latent_dim, default.mmd_estimator, default.prior) == (12, "biased", {"name": "gaussian"})


@pytest.mark.parametrize("objective", ["mmd", "kld", "vae", "ae"])
def test_every_objective_trains_and_logs_its_terms(mmd_args, toy_points, objective):
    trainer = MMDAETrainer(args=mmd_args(objective=objective, max_steps=2, latent_dim=2), train_dataset=toy_points)
    before = [p.detach().clone() for p in trainer.model.parameters()]
    trainer.train()
    logged = trainer.state.log_history[0]
    assert LOGGED[objective] <= set(logged)
    assert not ({"mmd2", "kl"} - LOGGED[objective]) & set(logged)
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.model.parameters(), strict=True))
    assert trainer.model.variational == (objective == "vae")


def test_loss_is_mse_plus_weighted_mmd(mmd_args, toy_points):
    trainer = MMDAETrainer(args=mmd_args(prior_weight=2.0, max_steps=1, latent_dim=2), train_dataset=toy_points)
    torch.manual_seed(0)
    batch = trainer.data_collator([toy_points[i] for i in range(64)])
    loss = trainer.compute_loss(trainer.model, batch)
    mse, mmd2 = trainer._metrics["train"]["reconstruction_mse"][-1], trainer._metrics["train"]["mmd2"][-1]
    assert loss.item() == pytest.approx(mse + 2.0 * mmd2, rel=1e-5)
    assert mmd2 > 0


def test_images_train_with_the_conv_networks_and_reload(mmd_args, tiny_images, tmp_path):
    args = mmd_args(
        architecture="auto", channels=[4, 4, 8, 8], latent_dim=3, per_device_train_batch_size=4, max_steps=2
    )
    trainer = MMDAETrainer(args=args, train_dataset=tiny_images)
    assert trainer.model.input_shape == (1, 28, 28)
    assert isinstance(trainer.model.encoder[0], torch.nn.Conv2d)
    trainer.train()
    trainer.save_model(str(tmp_path / "saved"))
    reloaded = MMDAutoencoder.from_pretrained(tmp_path / "saved")
    images = torch.rand(2, 1, 28, 28)
    torch.testing.assert_close(reloaded.eval().encode(images), trainer.model.eval().encode(images))
    assert reloaded.prior_spec == {"name": "gaussian"} and reloaded.objective == "mmd"


def test_integer_pixels_are_scaled_to_unit_range(mmd_args, tiny_images):
    args = mmd_args(architecture="conv", channels=[4, 4, 8, 8], latent_dim=3, per_device_train_batch_size=4)
    trainer = MMDAETrainer(args=args, train_dataset=tiny_images)
    batch = trainer.data_collator([tiny_images[i] for i in range(4)])["pixel_values"]
    expected = torch.tensor(tiny_images[:4]["pixel_values"], dtype=torch.float32) / 255
    torch.testing.assert_close(batch[:, 0], expected)


def test_resume_from_a_checkpoint_ends_where_an_uninterrupted_run_ends(mmd_args, toy_points, tmp_path):
    common = {"latent_dim": 2, "max_steps": 4, "save_strategy": "steps", "save_steps": 2, "learning_rate": 1e-2}
    straight = MMDAETrainer(args=mmd_args(**common, output_dir=str(tmp_path / "a")), train_dataset=toy_points)
    straight.train()
    torch.manual_seed(123)  # resuming must restore the RNG the prior samples come from, not rely on it
    resumed = MMDAETrainer(args=mmd_args(**common, output_dir=str(tmp_path / "b")), train_dataset=toy_points)
    resumed.train(resume_from_checkpoint=str(tmp_path / "a" / "checkpoint-2"))
    for a, b in zip(straight.model.parameters(), resumed.model.parameters(), strict=True):
        torch.testing.assert_close(a, b)


def test_training_continues_from_a_saved_model(mmd_args, toy_points, tmp_path):
    first = MMDAETrainer(args=mmd_args(latent_dim=2, max_steps=1), train_dataset=toy_points)
    first.train()
    first.save_model(str(tmp_path / "first"))
    second = MMDAETrainer(str(tmp_path / "first"), args=mmd_args(latent_dim=2, max_steps=1), train_dataset=toy_points)
    for a, b in zip(first.model.parameters(), second.model.parameters(), strict=True):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("objective", sorted(LOGGED))
def test_objective_terms_are_named_and_the_mse_is_the_mean_squared_error(mmd_args, toy_points, objective):
    trainer = MMDAETrainer(args=mmd_args(objective=objective, latent_dim=2), train_dataset=toy_points)
    trainer.model.eval()  # the VAE decodes its mean: nothing random
    points = square_dataset(32, seed=7)
    inputs = trainer.data_collator([points[i] for i in range(32)])["pixel_values"]
    outputs = trainer.model(pixel_values=inputs)
    terms = trainer.objective_terms(inputs, outputs)
    assert set(terms) == LOGGED[objective]
    mse = ((inputs.numpy().astype(np.float64) - outputs.reconstruction.detach().numpy()) ** 2).mean()
    scale = 2 * trainer.args.vae_decoder_variance if objective == "vae" else 1.0  # the VAE's Gaussian likelihood
    assert terms["reconstruction_mse"].item() == pytest.approx(mse / scale, rel=1e-5)


def test_evaluation_logs_the_mean_over_batches(mmd_args, toy_points):
    points = square_dataset(64, seed=8)
    args = mmd_args(objective="ae", latent_dim=2, per_device_eval_batch_size=16)  # four evaluation batches
    trainer = MMDAETrainer(args=args, train_dataset=toy_points, eval_dataset=points)
    metrics = trainer.evaluate()
    inputs = torch.tensor(np.array(points["pixel_values"], dtype=np.float32))
    with torch.no_grad():
        reconstruction = trainer.model.eval()(pixel_values=inputs).reconstruction.numpy().astype(np.float64)
    mse = ((reconstruction - inputs.numpy()) ** 2).mean()  # equal batches: the mean of the batch means
    assert metrics["eval_reconstruction_mse"] == pytest.approx(mse, rel=1e-5)


def test_the_log_override_passes_the_start_time_on(mmd_args, toy_points):
    # Trainer adds its speed metrics to a log only when it is given the start time (and counts input tokens).
    args = mmd_args(latent_dim=2, max_steps=1, include_num_input_tokens_seen="all")
    trainer = MMDAETrainer(args=args, train_dataset=toy_points)
    trainer.train()
    trainer.log({"probe": 1.0}, start_time=time.time() - 2.0)
    assert trainer.state.log_history[-1]["train_runtime"] >= 2.0
    trainer.log({"probe": 2.0})
    assert "train_runtime" not in trainer.state.log_history[-1]


def test_the_model_is_built_from_the_config(mmd_args, toy_points):
    args = mmd_args(latent_dim=2, hidden_sizes=[7], output_activation="none", input_shape=[2, 1])
    model = MMDAETrainer(args=args, train_dataset=toy_points).model
    assert model.input_shape == (2, 1)
    assert next(m.out_features for m in model.encoder.modules() if isinstance(m, torch.nn.Linear)) == 7
    assert isinstance(model.output, torch.nn.Identity)
    images = square_dataset(8, seed=9).map(lambda row: {"pixel_values": np.zeros(784, dtype=np.float32)})
    conv = MMDAETrainer(args=mmd_args(architecture="auto", channels=[3, 3, 5, 5], latent_dim=2), train_dataset=images)
    assert conv.model.input_shape == (1, 28, 28)  # auto reads a flat 784 vector as an image
    assert next(m.out_channels for m in conv.model.encoder.modules() if isinstance(m, torch.nn.Conv2d)) == 3
    flat = MMDAETrainer(args=mmd_args(architecture="mlp", latent_dim=2), train_dataset=images)
    assert flat.model.input_shape == (784,)  # mlp keeps it flat


def test_a_given_rescale_factor_reaches_the_collator(mmd_args, toy_points):
    trainer = MMDAETrainer(args=mmd_args(latent_dim=2, rescale_factor=0.5), train_dataset=toy_points)
    batch = trainer.data_collator([toy_points[i] for i in range(4)])["pixel_values"]
    torch.testing.assert_close(batch, torch.tensor(np.array(toy_points[:4]["pixel_values"], dtype=np.float32)) * 0.5)


def test_trainer_options_reach_trainer(mmd_args, toy_points):
    marker, callback = object(), transformers.TrainerCallback()
    trainer = MMDAETrainer(
        args=mmd_args(latent_dim=2), train_dataset=toy_points, processing_class=marker, callbacks=[callback]
    )
    assert trainer.processing_class is marker
    assert callback in trainer.callback_handler.callbacks


def test_compute_loss_returns_the_outputs_when_asked(mmd_args, toy_points):
    trainer = MMDAETrainer(args=mmd_args(objective="ae", latent_dim=2), train_dataset=toy_points)
    batch = trainer.data_collator([toy_points[i] for i in range(8)])
    loss, outputs = trainer.compute_loss(trainer.model, batch, return_outputs=True)
    assert outputs.reconstruction.shape == batch["pixel_values"].shape and loss.ndim == 0


def test_a_zero_prior_weight_logs_a_zero_term(mmd_args, toy_points):
    trainer = MMDAETrainer(args=mmd_args(latent_dim=2, prior_weight=0.0), train_dataset=toy_points)
    trainer.compute_loss(trainer.model, trainer.data_collator([toy_points[i] for i in range(8)]))
    assert trainer._metrics["train"]["mmd2"][-1] == 0.0


def test_a_vae_takes_a_batch_of_one(mmd_args, toy_points):
    trainer = MMDAETrainer(args=mmd_args(objective="vae", latent_dim=2), train_dataset=toy_points)
    assert torch.isfinite(trainer.compute_loss(trainer.model, trainer.data_collator([toy_points[0]])))


def test_gradient_accumulation_averages_the_loss_over_micro_batches(mmd_args, toy_points):
    # AE: the loss is the reconstruction MSE. Two micro-batches of 32 before one step: Trainer divides each
    # per-batch mean by 2, so the logged loss is their mean, the same as the logged MSE (no step in between).
    args = mmd_args(
        objective="ae", latent_dim=2, per_device_train_batch_size=32, gradient_accumulation_steps=2, max_steps=1
    )
    trainer = MMDAETrainer(args=args, train_dataset=toy_points)
    trainer.train()
    logged = trainer.state.log_history[0]
    assert logged["loss"] == pytest.approx(logged["reconstruction_mse"], rel=1e-5)
