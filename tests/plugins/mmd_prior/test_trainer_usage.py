"""The mmd_ae trainer as a Trainer: objectives and their logs, saving, loading, resuming, by name."""

from __future__ import annotations

import pytest
import torch
from hfplug_mmd_prior import MMDAutoencoder
from hfplug_mmd_prior.config import MMDAEConfig
from hfplug_mmd_prior.trainer import MMDAETrainer
from transformers import HfArgumentParser

import hfplug

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
