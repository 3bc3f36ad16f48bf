"""The edges of the estimators and metrics: the smallest inputs they accept, the inputs they convert, the ones
they refuse."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from datasets import Dataset
from hfplug_mmd_prior import covariance_ratio, mmd2, nmse_db
from hfplug_mmd_prior.encoding import encode_dataset
from hfplug_mmd_prior.evaluation import evaluate_autoencoder
from hfplug_mmd_prior.model import MMDAutoencoder
from hfplug_mmd_prior.objectives import batch_gaussian_kl
from hfplug_mmd_prior.trainer import MMDAETrainer

from hfplug.errors import ConfigError, DatasetError


@pytest.mark.parametrize("estimator", ["biased", "unbiased", "linear"])
def test_two_rows_are_enough_and_any_numeric_input_is_read_as_floats(estimator):
    x, y = [[0, 1], [200, 3]], [[1, 1], [0, 250]]
    as_float = mmd2(torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32), estimator)
    assert torch.isfinite(as_float)
    assert mmd2(torch.tensor(x), torch.tensor(y), estimator).item() == pytest.approx(as_float.item())  # int64
    as_pixels = mmd2(torch.tensor(x, dtype=torch.uint8), torch.tensor(y, dtype=torch.uint8), estimator)
    assert as_pixels.item() == pytest.approx(as_float.item())  # uint8 squares would overflow
    assert mmd2(np.array(x), np.array(y), estimator).item() == pytest.approx(as_float.item())  # NumPy ints
    assert mmd2(x, y, estimator).item() == pytest.approx(as_float.item())  # lists


def test_samples_that_are_not_matrices_or_hold_infinities_are_refused():
    with pytest.raises(DatasetError, match="x must be a 2-D"):
        mmd2(torch.randn(5), torch.randn(5, 1))
    with pytest.raises(DatasetError, match="y must be a 2-D"):
        mmd2(torch.randn(5, 1), torch.randn(5, 1, 1))
    with pytest.raises(DatasetError, match="y contains NaN or infinite"):
        mmd2(torch.randn(5, 2), torch.tensor([[0.0, 1.0], [float("inf"), 0.0]]))


@pytest.mark.parametrize("scales", [[], [1.0, 0.0], [-0.5]])
def test_kernel_scales_must_be_positive(scales):
    with pytest.raises(ConfigError, match="kernel_scales"):
        mmd2(torch.randn(4, 2), torch.randn(4, 2), scales=scales)


def test_one_scale_is_one_rbf():
    x, y = torch.randn(6, 2, dtype=torch.float64), torch.randn(6, 2, dtype=torch.float64)
    squared = torch.cdist(x, y) ** 2
    kxy = torch.exp(-squared / (2 * 0.7**2)).mean()
    kxx = torch.exp(-(torch.cdist(x, x) ** 2) / (2 * 0.7**2)).mean()
    kyy = torch.exp(-(torch.cdist(y, y) ** 2) / (2 * 0.7**2)).mean()
    value = mmd2(x, y, scales=[1.0], bandwidth=0.7)
    assert value.item() == pytest.approx((kxx + kyy - 2 * kxy).item(), rel=1e-9)


def test_batch_kl_needs_one_more_code_than_dimensions():
    codes = torch.randn(4, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert torch.isfinite(batch_gaussian_kl(codes))
    with pytest.raises(DatasetError, match="3 codes cannot give a full-rank 3x3 covariance"):
        batch_gaussian_kl(codes[:3])


def test_covariance_ratio_on_the_smallest_input_and_on_uncorrelated_dimensions():
    z = np.array([[0.0, 1.0], [2.0, 5.0]])  # covariance [[2, 4], [4, 8]]: trace 10, off-diagonal |4| + |4|
    assert covariance_ratio(z) == pytest.approx(10 / 8)
    assert covariance_ratio(torch.tensor(z)) == pytest.approx(10 / 8)
    assert covariance_ratio(np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])) == float("inf")
    with pytest.raises(DatasetError, match="covariance_ratio: needs at least 2 samples"):
        covariance_ratio(z[:1])
    with pytest.raises(DatasetError, match="at least 2 latent dimensions"):
        covariance_ratio(z[:, :1])


def _nmse(x: np.ndarray, reconstruction: np.ndarray) -> float:
    x, reconstruction = x.astype(np.float64), reconstruction.astype(np.float64)
    return float(10 * np.log10(((x - reconstruction) ** 2).sum() / (x**2).sum()))


def test_nmse_db_takes_tensors_and_refuses_what_it_cannot_normalise():
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert nmse_db(x, x * 0.5) == pytest.approx(10 * np.log10(0.25))
    assert nmse_db(x.detach().numpy(), torch.zeros(2, 2)) == pytest.approx(0.0)
    pixels = np.array([[200, 100], [30, 250]], dtype=np.uint8)  # uint8 squares would overflow
    assert nmse_db(pixels, pixels // 2) == pytest.approx(_nmse(pixels, pixels // 2), rel=1e-12)
    with pytest.raises(DatasetError, match="differ in shape"):
        nmse_db(np.ones((2, 2)), np.ones((2, 3)))
    with pytest.raises(DatasetError, match="NaN"):
        nmse_db(np.ones(2), np.array([1.0, np.nan]))
    with pytest.raises(DatasetError, match="NaN"):
        nmse_db(np.array([np.inf, 1.0]), np.ones(2))
    with pytest.raises(DatasetError, match="all zero"):
        nmse_db(np.zeros(3), np.ones(3))


def test_evaluation_encodes_at_most_max_examples():
    points = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32)
    model = MMDAutoencoder(input_shape=[4], latent_dim=2, architecture="mlp", hidden_sizes=[8])
    data = Dataset.from_dict({"pixel_values": points})
    results = evaluate_autoencoder(model, data, regressors=(), max_examples=20, progress=False)
    assert results["examples"] == 20
    assert (results["latent_dim"], results["objective"]) == (2, "mmd")


def test_evaluation_loss_is_the_objective_on_the_evaluation_set(mmd_args, toy_points):
    points = np.random.default_rng(1).normal(size=(64, 2)).astype(np.float32)
    args = mmd_args(objective="ae", latent_dim=2, output_activation="none", per_device_eval_batch_size=64)
    trainer = MMDAETrainer(
        args=args, train_dataset=toy_points, eval_dataset=Dataset.from_dict({"pixel_values": points})
    )
    metrics = trainer.evaluate()
    with torch.no_grad():
        reconstruction = trainer.model.eval()(pixel_values=torch.tensor(points)).reconstruction.numpy()
    mse = float(((reconstruction.astype(np.float64) - points) ** 2).mean())
    assert metrics["eval_loss"] == pytest.approx(mse, rel=1e-5)
    assert metrics["eval_reconstruction_mse"] == pytest.approx(mse, rel=1e-5)


def test_encode_dataset_reads_pixel_values_by_default():
    points = np.random.default_rng(2).normal(size=(30, 4)).astype(np.float32)
    model = MMDAutoencoder(
        input_shape=[4], latent_dim=2, architecture="mlp", hidden_sizes=[8], output_activation="none"
    )
    data = Dataset.from_dict({"pixel_values": points, "label": list(range(30))})
    encoded = encode_dataset(model, data, batch_size=8)
    with torch.no_grad():
        np.testing.assert_allclose(encoded.latents, model.encode(torch.tensor(points)).numpy(), rtol=1e-5, atol=1e-6)
    assert encoded.examples == 30


def test_encode_dataset_rescales_like_training():
    model = MMDAutoencoder(
        input_shape=[4], latent_dim=2, architecture="mlp", hidden_sizes=[8], output_activation="none"
    )
    pixels = np.random.default_rng(3).integers(0, 256, size=(10, 4), dtype=np.uint8)
    encoded = encode_dataset(model, Dataset.from_dict({"pixel_values": pixels}), batch_size=4)
    with torch.no_grad():
        expected = model.encode(torch.tensor(pixels, dtype=torch.float32) / 255).numpy()
    np.testing.assert_allclose(encoded.latents, expected, rtol=1e-5, atol=1e-6)  # integers: 1/255
    points = np.random.default_rng(4).normal(size=(10, 4)).astype(np.float32)
    halved = encode_dataset(model, Dataset.from_dict({"pixel_values": points}), rescale_factor=0.5)
    with torch.no_grad():
        expected = model.encode(torch.tensor(points) * 0.5).numpy()
    np.testing.assert_allclose(halved.latents, expected, rtol=1e-5, atol=1e-6)  # a given factor


def test_saving_writes_the_training_arguments_next_to_the_model(mmd_args, toy_points, tmp_path):
    trainer = MMDAETrainer(args=mmd_args(latent_dim=2, prior_weight=1.5), train_dataset=toy_points)
    trainer.save_model(str(tmp_path / "saved"))
    saved = torch.load(tmp_path / "saved" / "training_args.bin", weights_only=False)
    assert type(saved).__name__ == "MMDAEConfig"
    assert (saved.latent_dim, saved.prior_weight, saved.objective) == (2, 1.5, "mmd")
    assert (tmp_path / "saved" / "config.json").is_file()


def test_arrays_and_lists_are_read_as_float32_like_the_model_codes():
    x, y = np.random.default_rng(5).normal(size=(2, 6, 2))  # float64
    assert mmd2(x, y).dtype == torch.float32
    assert mmd2(x.tolist(), y.tolist()).dtype == torch.float32
    assert mmd2(torch.tensor(x), torch.tensor(y)).dtype == torch.float64  # a tensor keeps its float type


def test_the_model_class_defaults_and_its_smallest_code():
    model = MMDAutoencoder(input_shape=[4], architecture="mlp", hidden_sizes=[8])
    assert (model.latent_dim, model.prior_spec, model.objective) == (12, "gaussian", "mmd")  # [paper]: d = 12, N(0, I)
    one = MMDAutoencoder(input_shape=[4], latent_dim=1, architecture="mlp", hidden_sizes=[8])
    assert one.encode(torch.rand(3, 4)).shape == (3, 1)
    vae = MMDAutoencoder(input_shape=[4], latent_dim=3, architecture="mlp", hidden_sizes=[8], objective="vae")
    assert vae.eval().encode(torch.rand(5, 4)).shape == (5, 3)  # a mean and a variance head of 3 each
    with pytest.raises(ConfigError, match="expected latents of shape"):
        vae.decode(torch.rand(5, 2))


def test_a_vae_continues_as_a_vae(mmd_args, toy_points):
    vae = MMDAutoencoder(input_shape=[2], latent_dim=2, architecture="mlp", hidden_sizes=[8], objective="vae")
    trainer = MMDAETrainer(vae, args=mmd_args(objective="vae", latent_dim=2), train_dataset=toy_points)
    assert trainer.model is vae
