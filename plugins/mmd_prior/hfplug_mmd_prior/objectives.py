"""The losses: AE-MMD and the baselines it is compared with, all on the same networks.

Every objective is ``reconstruction + regulariser`` with the reconstruction a mean squared error
over input elements, so their values are on one scale:

- ``mmd``: ``MSE + lambda * MMD^2(codes, prior samples)`` [paper];
- ``kld`` (AE-KLD): ``MSE + lambda * KL(N(m, S) || N(0, I))`` with ``m``, ``S`` the batch mean and
  covariance of the codes: it matches two moments only, so non-linear dependence survives;
- ``vae``: the negative ELBO with a fixed-variance Gaussian decoder, divided by the number of input
  elements: ``MSE / (2 s^2) + beta * KL(q(z|x) || N(0, I)) / D``;
- ``ae``: ``MSE``.
"""

from __future__ import annotations

import torch

from hfplug.errors import DatasetError

# Added to the batch covariance so its log-determinant stays finite when the codes are nearly
# degenerate early in training.
COVARIANCE_JITTER = 1e-6


def reconstruction_mse(inputs: torch.Tensor, reconstruction: torch.Tensor) -> torch.Tensor:
    """Mean squared error over every element of the batch."""
    return torch.nn.functional.mse_loss(reconstruction, inputs)


def gaussian_kl(mean: torch.Tensor, log_variance: torch.Tensor) -> torch.Tensor:
    """``KL(N(mean, diag(exp(log_variance))) || N(0, I))`` per example, summed over dimensions, averaged."""
    per_dim = 0.5 * (mean.pow(2) + log_variance.exp() - 1.0 - log_variance)
    return per_dim.sum(dim=1).mean()


def batch_gaussian_kl(codes: torch.Tensor) -> torch.Tensor:
    """``KL(N(m, S) || N(0, I))`` for the batch mean ``m`` and (unbiased) covariance ``S`` of ``codes``."""
    n, d = codes.shape
    if n < d + 1:
        raise DatasetError(f"batch KL: {n} codes cannot give a full-rank {d}x{d} covariance; use batches > {d}.")
    mean = codes.mean(dim=0)
    centred = codes - mean
    covariance = centred.T @ centred / (n - 1) + COVARIANCE_JITTER * torch.eye(
        d, dtype=codes.dtype, device=codes.device
    )
    return 0.5 * (torch.trace(covariance) + mean.pow(2).sum() - d - torch.logdet(covariance))
