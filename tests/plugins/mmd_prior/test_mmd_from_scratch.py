"""Every number a user reads, recomputed here from its formula in NumPy (no helper of the plugin): the three
MMD^2 estimators, each objective's total loss and logged terms, the VAE's sampling, NMSE in dB, the
covariance ratio, and LPS where its value is known in closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from datasets import Dataset
from hfplug_mmd_prior import covariance_ratio, latent_predictability_score, mmd2, nmse_db, predictability_report
from hfplug_mmd_prior.evaluation import evaluate_autoencoder
from hfplug_mmd_prior.model import MMDAutoencoder
from hfplug_mmd_prior.trainer import MMDAETrainer

from .conftest import square_dataset

SCALES = (0.5, 1.0, 2.0)


def _kernel(a: np.ndarray, b: np.ndarray, sigma: float, scales: tuple[float, ...] = SCALES) -> np.ndarray:
    squared = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
    return sum(np.exp(-squared / (2 * (m * sigma) ** 2)) for m in scales)


def _lower_median(values: np.ndarray) -> float:
    """The median, the lower middle value for an even count (torch.median's convention)."""
    return float(np.sort(values, axis=None)[(values.size - 1) // 2])


def _median_distance(x: np.ndarray, y: np.ndarray) -> float:
    pooled = np.concatenate([x, y])
    distances = np.sqrt(((pooled[:, None, :] - pooled[None, :, :]) ** 2).sum(-1))
    return _lower_median(distances[np.triu_indices(len(pooled), k=1)])


def mmd2_from_scratch(
    x: np.ndarray, y: np.ndarray, estimator: str, sigma: float | None = None, scales: tuple[float, ...] = SCALES
) -> float:
    """Gretton et al. (2012): the V-statistic, the U-statistic and the linear-time statistic (Lemma 14:
    the mean over disjoint pairs of h = k(x, x') + k(y, y') - k(x, y') - k(x', y))."""
    if estimator == "linear":
        pairs = min(len(x), len(y)) // 2
        x1, x2, y1, y2 = x[0 : 2 * pairs : 2], x[1 : 2 * pairs : 2], y[0 : 2 * pairs : 2], y[1 : 2 * pairs : 2]
        if sigma is None:  # the median over the 4 * pairs distances the statistic uses
            sigma = _lower_median(np.linalg.norm(np.concatenate([x1 - x2, y1 - y2, x1 - y2, x2 - y1]), axis=1))
        h = [_kernel(a[None], b[None], sigma)[0, 0] for a, b in zip(x1, x2, strict=True)]
        h = np.array(h) + [_kernel(a[None], b[None], sigma)[0, 0] for a, b in zip(y1, y2, strict=True)]
        h -= [_kernel(a[None], b[None], sigma)[0, 0] for a, b in zip(x1, y2, strict=True)]
        h -= [_kernel(a[None], b[None], sigma)[0, 0] for a, b in zip(x2, y1, strict=True)]
        return float(h.mean())
    sigma = _median_distance(x, y) if sigma is None else sigma
    kxx, kyy, kxy = _kernel(x, x, sigma, scales), _kernel(y, y, sigma, scales), _kernel(x, y, sigma, scales)
    n, m = len(x), len(y)
    if estimator == "biased":
        return float(kxx.mean() + kyy.mean() - 2 * kxy.mean())
    off_x = (kxx.sum() - np.trace(kxx)) / (n * (n - 1))
    off_y = (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return float(off_x + off_y - 2 * kxy.mean())


def _samples(n: int, m: int, shift: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)), rng.normal(size=(m, 3)) + shift


@pytest.mark.parametrize("estimator", ["biased", "unbiased", "linear"])
@pytest.mark.parametrize(("n", "m"), [(30, 30), (31, 24), (24, 31)])
@pytest.mark.parametrize("sigma", [None, 0.7])
def test_mmd2_equals_the_textbook_estimators(estimator, n, m, sigma):
    x, y = _samples(n, m, shift=0.6)
    value = mmd2(torch.tensor(x), torch.tensor(y), estimator, bandwidth=sigma).item()
    assert value == pytest.approx(mmd2_from_scratch(x, y, estimator, sigma), rel=1e-9, abs=1e-12)


def test_the_linear_estimator_estimates_the_same_quantity_as_the_quadratic_ones():
    # With a fixed bandwidth every estimator targets the population MMD^2; the U-statistic on 4000 + 4000
    # points has a small error, the linear statistic's error is its own standard error (3 of them allowed).
    x, y = _samples(4000, 4000, shift=0.5, seed=1)
    sigma = 2.0
    quadratic = mmd2(torch.tensor(x[:1500]), torch.tensor(y[:1500]), "unbiased", bandwidth=sigma).item()
    linear = mmd2(torch.tensor(x), torch.tensor(y), "linear", bandwidth=sigma).item()
    x1, x2, y1, y2 = x[0::2], x[1::2], y[0::2], y[1::2]

    def k(a, b):
        return sum(np.exp(-((a - b) ** 2).sum(1) / (2 * (s * sigma) ** 2)) for s in SCALES)

    h = k(x1, x2) + k(y1, y2) - k(x1, y2) - k(x2, y1)
    assert linear == pytest.approx(h.mean(), rel=1e-9)
    assert abs(linear - quadratic) < 3 * h.std() / math.sqrt(len(h)) + 0.01
    assert quadratic > 0.1  # the shift is visible: the comparison is not 0 against 0


class _FixedPrior:
    """A prior whose samples are given, so the loss can be recomputed from the same numbers."""

    def __init__(self, samples: torch.Tensor) -> None:
        self.samples, self.dim = samples, samples.shape[1]

    def sample(self, n, generator=None):
        return self.samples[:n]


def _batch(trainer, n=64):
    points = square_dataset(n, seed=3)
    return trainer.data_collator([points[i] for i in range(n)])


def _squared_error(batch, reconstruction) -> np.ndarray:
    return (batch["pixel_values"].numpy().astype(np.float64) - reconstruction.detach().numpy()) ** 2


@pytest.mark.parametrize("weight", [2.5, 0.3])
def test_ae_mmd_loss_is_mse_plus_lambda_times_mmd2(mmd_args, toy_points, weight):
    trainer = MMDAETrainer(args=mmd_args(prior_weight=weight, latent_dim=2, max_steps=1), train_dataset=toy_points)
    prior = np.random.default_rng(4).normal(size=(64, 2))
    trainer.prior = _FixedPrior(torch.tensor(prior, dtype=torch.float32))
    batch = _batch(trainer)
    loss = trainer.compute_loss(trainer.model, batch).item()
    outputs = trainer.model(pixel_values=batch["pixel_values"])
    mse = _squared_error(batch, outputs.reconstruction).mean()
    divergence = mmd2_from_scratch(outputs.latents.detach().numpy().astype(np.float64), prior, "biased")
    assert divergence > 0.05  # the untrained codes are far from the prior, so a dropped lambda shows
    assert loss == pytest.approx(mse + weight * divergence, rel=1e-4)
    logged = trainer._metrics["train"]
    assert logged["reconstruction_mse"][-1] == pytest.approx(mse, rel=1e-5)
    assert logged["mmd2"][-1] == pytest.approx(divergence, rel=1e-4)  # logged unweighted


def test_ae_mmd_uses_the_configured_estimator_and_kernel_scales(mmd_args, toy_points):
    args = mmd_args(mmd_estimator="unbiased", kernel_scales=[1.0], latent_dim=2, max_steps=1)
    trainer = MMDAETrainer(args=args, train_dataset=toy_points)
    prior = np.random.default_rng(6).normal(size=(64, 2))
    trainer.prior = _FixedPrior(torch.tensor(prior, dtype=torch.float32))
    batch = _batch(trainer)
    trainer.compute_loss(trainer.model, batch)
    codes = trainer.model(pixel_values=batch["pixel_values"]).latents.detach().numpy().astype(np.float64)
    expected = mmd2_from_scratch(codes, prior, "unbiased", scales=(1.0,))
    assert expected != pytest.approx(mmd2_from_scratch(codes, prior, "biased", scales=(1.0,)), rel=1e-3)
    assert expected != pytest.approx(mmd2_from_scratch(codes, prior, "unbiased"), rel=1e-3)
    assert trainer._metrics["train"]["mmd2"][-1] == pytest.approx(expected, rel=1e-4)


def _batch_kl(codes: np.ndarray) -> float:
    """KL(N(m, S) || N(0, I)) = (tr S + m.m - d - log det S) / 2, S the unbiased batch covariance plus the
    plugin's documented jitter of 1e-6 I (untrained codes are nearly degenerate, so log det S feels it)."""
    n, d = codes.shape
    mean = codes.mean(0)
    covariance = (codes - mean).T @ (codes - mean) / (n - 1) + 1e-6 * np.eye(d)
    return 0.5 * (np.trace(covariance) + mean @ mean - d - np.linalg.slogdet(covariance)[1])


def test_ae_kld_loss_is_mse_plus_lambda_times_the_batch_kl(mmd_args, toy_points):
    trainer = MMDAETrainer(
        args=mmd_args(objective="kld", prior_weight=1.7, latent_dim=2, max_steps=1), train_dataset=toy_points
    )
    batch = _batch(trainer)
    loss = trainer.compute_loss(trainer.model, batch).item()
    outputs = trainer.model(pixel_values=batch["pixel_values"])
    mse = _squared_error(batch, outputs.reconstruction).mean()
    kl = _batch_kl(outputs.latents.detach().numpy().astype(np.float64))
    assert kl > 0.05
    assert loss == pytest.approx(mse + 1.7 * kl, rel=1e-4)
    assert trainer._metrics["train"]["kl"][-1] == pytest.approx(kl, rel=1e-4)


@pytest.mark.parametrize(("beta", "variance"), [(1.0, 0.5), (4.0, 2.0)])
def test_vae_loss_is_the_negative_elbo_per_input_element(mmd_args, beta, variance):
    # x in R^3 (D = 3): per example, ||x - x_hat||^2 / (2 s^2) + beta * KL(N(mu, diag e^lv) || N(0, I)),
    # averaged over the batch and divided by D. Evaluation mode decodes the mean, so nothing is random.
    points = np.random.default_rng(5).normal(size=(64, 3)).astype(np.float32)
    data = Dataset.from_dict({"pixel_values": points})
    args = mmd_args(
        objective="vae", beta=beta, vae_decoder_variance=variance, latent_dim=2, output_activation="none", max_steps=1
    )
    trainer = MMDAETrainer(args=args, train_dataset=data)
    model = trainer.model.eval()
    batch = trainer.data_collator([data[i] for i in range(64)])
    loss = trainer.compute_loss(model, batch).item()
    outputs = model(pixel_values=batch["pixel_values"])
    mu, log_var = outputs.mean.detach().numpy().astype(np.float64), outputs.log_variance.detach().numpy()
    kl = 0.5 * (mu**2 + np.exp(log_var) - 1 - log_var).sum(1)
    squared = _squared_error(batch, outputs.reconstruction).sum(1)
    expected = (squared / (2 * variance) + beta * kl).mean() / 3
    assert loss == pytest.approx(expected, rel=1e-4)
    logged = trainer._metrics["eval"]
    assert logged["kl"][-1] == pytest.approx(kl.mean(), rel=1e-4)
    assert logged["reconstruction_mse"][-1] == pytest.approx(squared.mean() / 3, rel=1e-4)


def test_a_vae_samples_codes_with_the_posterior_standard_deviation():
    model = MMDAutoencoder(input_shape=[4], latent_dim=2, architecture="mlp", hidden_sizes=[8], objective="vae").train()
    mean, log_variance = torch.tensor([[0.5, -1.0]]), torch.tensor([[math.log(4.0), math.log(0.25)]])
    model._encode = lambda inputs: (mean.expand(len(inputs), 2), log_variance.expand(len(inputs), 2))
    torch.manual_seed(0)
    codes = model(torch.zeros(40000, 4)).latents.detach().numpy()
    np.testing.assert_allclose(codes.std(0), [2.0, 0.5], rtol=0.02)  # exp(log_variance / 2)
    np.testing.assert_allclose(codes.mean(0), [0.5, -1.0], atol=0.03)


def _nmse_db(x: np.ndarray, reconstruction: np.ndarray) -> float:
    return 10 * math.log10(((x - reconstruction) ** 2).sum() / (x**2).sum())


def test_nmse_db_and_the_covariance_ratio_from_their_formulas():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(50, 7))
    reconstruction = x + 0.3 * rng.normal(size=x.shape)
    assert nmse_db(x, reconstruction) == pytest.approx(_nmse_db(x, reconstruction))
    assert nmse_db(x, 0.1 * x) == pytest.approx(20 * math.log10(0.9))  # error 0.9 x: 20 log10(0.9) dB
    z = rng.normal(size=(300, 3)) @ np.array([[1.0, 0.4, 0.0], [0.0, 1.0, -0.3], [0.0, 0.0, 2.0]])
    centred = z - z.mean(0)
    covariance = centred.T @ centred / (len(z) - 1)
    off_diagonal = np.abs(covariance).sum() - np.abs(np.diag(covariance)).sum()
    assert covariance_ratio(z) == pytest.approx(np.trace(covariance) / off_diagonal, rel=1e-12)


def test_evaluation_reports_nmse_and_covariance_ratio_of_what_the_model_does(mmd_args):
    # 700 points: two encoding batches of 512, so the sums must run over both.
    points = np.random.default_rng(7).normal(size=(700, 5)).astype(np.float32) + 0.5
    data = Dataset.from_dict({"pixel_values": points})
    model = MMDAutoencoder(
        input_shape=[5], latent_dim=3, architecture="mlp", hidden_sizes=[16], output_activation="none"
    )
    results = evaluate_autoencoder(model, data, regressors=(), progress=False)
    with torch.no_grad():
        codes = model.encode(torch.tensor(points))
        reconstruction = model.decode(codes).numpy().astype(np.float64)
    x = points.astype(np.float64)
    assert results["examples"] == 700
    assert results["nmse_db"] == pytest.approx(_nmse_db(x, reconstruction), rel=1e-5)
    z = codes.numpy().astype(np.float64)
    covariance = np.cov(z.T)
    ratio = np.trace(covariance) / (np.abs(covariance).sum() - np.trace(np.abs(covariance)))
    assert results["covariance_ratio"] == pytest.approx(ratio, rel=1e-5)


def test_linear_lps_equals_its_closed_form():
    # z1 = x, z2 = x + e (var(e) = v), z3 independent: the population R^2 of z1 from the rest is
    # corr(z1, z2)^2 = 1 / (1 + v), the same for z2, 0 for z3: LPS = 2 / (3 (1 + v)), 1/3 at v = 1.
    rng = np.random.default_rng(8)
    x = rng.normal(size=20000)
    z = np.stack([x, x + rng.normal(size=20000), rng.normal(size=20000)], axis=1)
    report = predictability_report(z, "linear", max_samples=None)
    assert (report.n_train, report.n_test) == (14000, 6000)
    np.testing.assert_allclose(report.r2_per_dim, [0.5, 0.5, 0.0], atol=0.025)
    assert report.lps == pytest.approx(1 / 3, abs=0.015)
    assert latent_predictability_score(z, "linear", max_samples=None) == report.lps
