"""Encoders and decoders: four conv layers per side for 28x28 images, MLPs for vectors.

Every objective in this plugin (AE-MMD and the VAE / beta-VAE / AE-KLD / plain AE baselines) uses
the same networks; a variational encoder only has a head twice as wide (mean and log-variance).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import nn

from hfplug.errors import ConfigError

ARCHITECTURES = ("conv", "mlp")
OUTPUT_ACTIVATIONS = ("sigmoid", "none")
IMAGE_SIDE = 28


def conv_encoder(in_channels: int, channels: Sequence[int], out_features: int) -> nn.Module:
    """28x28 -> 14 -> 7 -> 4 -> 1, then a linear head."""
    c1, c2, c3, c4 = _four(channels)
    return nn.Sequential(
        nn.Conv2d(in_channels, c1, 4, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(c1, c2, 4, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(c2, c3, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(c3, c4, 4, stride=1, padding=0),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(c4, out_features),
    )


def conv_decoder(latent_dim: int, channels: Sequence[int], out_channels: int) -> nn.Module:
    """The mirror image of :func:`conv_encoder`: 1 -> 4 -> 7 -> 14 -> 28."""
    c1, c2, c3, c4 = _four(channels)
    return nn.Sequential(
        nn.Linear(latent_dim, c4),
        nn.ReLU(),
        nn.Unflatten(1, (c4, 1, 1)),
        nn.ConvTranspose2d(c4, c3, 4, stride=1, padding=0),
        nn.ReLU(),
        nn.ConvTranspose2d(c3, c2, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1),
        nn.ReLU(),
        nn.ConvTranspose2d(c1, out_channels, 4, stride=2, padding=1),
    )


def mlp(sizes: Sequence[int]) -> nn.Module:
    """Linear layers through ``sizes`` with ReLU between them (none after the last)."""
    layers: list[nn.Module] = []
    for index, (width_in, width_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(width_in, width_out))
        if index < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def build_networks(
    architecture: str,
    input_shape: Sequence[int],
    latent_dim: int,
    encoder_outputs: int,
    channels: Sequence[int],
    hidden_sizes: Sequence[int],
) -> tuple[nn.Module, nn.Module]:
    """``(encoder, decoder)``; the encoder ends in ``encoder_outputs`` features, the decoder in ``input_shape``."""
    if architecture == "conv":
        if len(input_shape) != 3 or tuple(input_shape[1:]) != (IMAGE_SIDE, IMAGE_SIDE):
            raise ConfigError(
                f"architecture: 'conv' takes (channels, 28, 28) images, got input shape {tuple(input_shape)}; "
                "use architecture: mlp for other shapes."
            )
        return conv_encoder(input_shape[0], channels, encoder_outputs), conv_decoder(
            latent_dim, channels, input_shape[0]
        )
    if architecture == "mlp":
        features = int(torch.tensor(input_shape).prod())
        hidden = [int(h) for h in hidden_sizes]
        encoder = nn.Sequential(nn.Flatten(), mlp([features, *hidden, encoder_outputs]))
        decoder = nn.Sequential(mlp([latent_dim, *reversed(hidden), features]), nn.Unflatten(1, tuple(input_shape)))
        return encoder, decoder
    raise ConfigError(f"architecture: unknown architecture {architecture!r}; choose one of {', '.join(ARCHITECTURES)}.")


def output_activation(name: str) -> nn.Module:
    """``sigmoid`` for data in [0, 1] (pixels), ``none`` for unbounded data."""
    if name == "sigmoid":
        return nn.Sigmoid()
    if name == "none":
        return nn.Identity()
    raise ConfigError(f"output_activation: unknown {name!r}; choose one of {', '.join(OUTPUT_ACTIVATIONS)}.")


def _four(channels: Sequence[int]) -> tuple[int, int, int, int]:
    if len(channels) != 4 or any(int(c) < 1 for c in channels):
        raise ConfigError(f"channels: the conv networks take four positive widths, got {list(channels)!r}.")
    return tuple(int(c) for c in channels)  # type: ignore[return-value]
