"""The trainer's named loss terms and its logging, checked against values computed here: each objective's terms
by name (the reconstruction MSE from its formula), logged metrics averaged over batches, and Trainer's speed
metrics still reaching the log through the override."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
import transformers
from hfplug_mmd_prior.trainer import MMDAETrainer

from .conftest import square_dataset

TERMS = {
    "ae": {"reconstruction_mse"},
    "mmd": {"reconstruction_mse", "mmd2"},
    "kld": {"reconstruction_mse", "kl"},
    "vae": {"reconstruction_mse", "kl"},
}


@pytest.mark.parametrize("objective", sorted(TERMS))
def test_objective_terms_are_named_and_the_mse_is_the_mean_squared_error(mmd_args, toy_points, objective):
    trainer = MMDAETrainer(args=mmd_args(objective=objective, latent_dim=2), train_dataset=toy_points)
    trainer.model.eval()  # the VAE decodes its mean: nothing random
    points = square_dataset(32, seed=7)
    inputs = trainer.data_collator([points[i] for i in range(32)])["pixel_values"]
    outputs = trainer.model(pixel_values=inputs)
    terms = trainer.objective_terms(inputs, outputs)
    assert set(terms) == TERMS[objective]
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
