"""The trainer's named loss terms and its logging, checked against values computed here: each objective's terms
by name (the reconstruction MSE from its formula), logged metrics averaged over batches, and Trainer's speed
metrics still reaching the log through the override."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from hfplug_mmd_prior.trainer import MMDAETrainer

from .conftest import square_dataset

TERMS = {"ae": {"reconstruction_mse"}, "mmd": {"reconstruction_mse", "mmd2"}, "kld": {"reconstruction_mse", "kl"}}


@pytest.mark.parametrize("objective", sorted(TERMS))
def test_objective_terms_are_named_and_the_mse_is_the_mean_squared_error(mmd_args, toy_points, objective):
    trainer = MMDAETrainer(args=mmd_args(objective=objective, latent_dim=2), train_dataset=toy_points)
    points = square_dataset(32, seed=7)
    inputs = trainer.data_collator([points[i] for i in range(32)])["pixel_values"]
    outputs = trainer.model(pixel_values=inputs)
    terms = trainer.objective_terms(inputs, outputs)
    assert set(terms) == TERMS[objective]
    mse = ((inputs.numpy().astype(np.float64) - outputs.reconstruction.detach().numpy()) ** 2).mean()
    assert terms["reconstruction_mse"].item() == pytest.approx(mse, rel=1e-5)


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
