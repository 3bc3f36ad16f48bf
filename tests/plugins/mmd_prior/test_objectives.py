"""The baselines' regularisers against torch.distributions, and the model's forward modes."""

from __future__ import annotations

import torch
from hfplug_mmd_prior import MMDAutoencoder
from hfplug_mmd_prior.objectives import batch_gaussian_kl, gaussian_kl
from torch.distributions import MultivariateNormal, Normal, kl_divergence


def test_vae_kl_matches_torch_distributions():
    generator = torch.Generator().manual_seed(0)
    mean, log_variance = torch.randn(16, 5, generator=generator), torch.randn(16, 5, generator=generator)
    posterior = Normal(mean, (0.5 * log_variance).exp())
    expected = kl_divergence(posterior, Normal(torch.zeros(5), torch.ones(5))).sum(1).mean()
    torch.testing.assert_close(gaussian_kl(mean, log_variance), expected)


def test_batch_kl_uses_the_batch_mean_and_full_covariance():
    generator = torch.Generator().manual_seed(1)
    mixing = torch.tensor([[1.0, 0.0, 0.0], [0.8, 0.6, 0.0], [0.0, 0.3, 0.5]], dtype=torch.float64)
    codes = torch.randn(200, 3, generator=generator, dtype=torch.float64) @ mixing.T + 0.5
    batch = MultivariateNormal(codes.mean(0), covariance_matrix=torch.cov(codes.T))
    expected = kl_divergence(
        batch, MultivariateNormal(torch.zeros(3, dtype=torch.float64), torch.eye(3, dtype=torch.float64))
    )
    torch.testing.assert_close(batch_gaussian_kl(codes), expected, rtol=1e-4, atol=1e-5)


def test_batch_kl_is_blind_to_a_non_linear_dependence():
    """AE-KLD only sees two moments: z2 = z1^2 - 1 (scaled to unit variance) looks like N(0, I)."""
    z1 = torch.randn(20000, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    codes = torch.stack([z1, (z1**2 - 1) / 2**0.5], dim=1)
    assert batch_gaussian_kl(codes).item() < 0.01


def test_a_vae_samples_in_training_and_returns_the_mean_in_evaluation():
    model = MMDAutoencoder(input_shape=[4], latent_dim=2, architecture="mlp", hidden_sizes=[8], objective="vae")
    inputs = torch.randn(5, 4)
    model.train()
    first, second = model(inputs), model(inputs)
    assert not torch.equal(first.latents, second.latents)
    torch.testing.assert_close(first.mean, second.mean)
    model.eval()
    output = model(inputs)
    torch.testing.assert_close(output.latents, output.mean)
    torch.testing.assert_close(model.encode(inputs), output.mean)


def test_conv_networks_map_28x28_images_to_codes_and_back():
    model = MMDAutoencoder(latent_dim=12, channels=[4, 4, 8, 8])
    output = model(torch.rand(3, 1, 28, 28))
    assert output.latents.shape == (3, 12)
    assert output.reconstruction.shape == (3, 1, 28, 28)
    assert output.reconstruction.min() >= 0 and output.reconstruction.max() <= 1  # sigmoid output
