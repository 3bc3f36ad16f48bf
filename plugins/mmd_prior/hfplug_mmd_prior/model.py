"""``MMDAutoencoder``: the encoder/decoder pair every objective of this plugin trains.

A ``PyTorchModelHubMixin`` model: ``save_pretrained`` writes ``config.json`` (the constructor's
arguments) and ``model.safetensors``, ``from_pretrained`` rebuilds it, and ``push_to_hub`` uploads
through :func:`hfplug.hub.push`, so the card records hfplug-mmd-prior, the paper and the settings.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

from hfplug.errors import ConfigError
from hfplug_mmd_prior import networks

PAPER = "arXiv:2510.11953"
OBJECTIVES = ("mmd", "vae", "kld", "ae")


@dataclass
class AutoencoderOutput:
    """What one forward pass returns.

    ``latents`` is the code the decoder saw (a posterior sample for a VAE in training mode, the mean
    otherwise); ``mean``/``log_variance`` are the encoder's outputs (``log_variance`` only for VAEs).
    """

    latents: torch.Tensor
    reconstruction: torch.Tensor
    mean: torch.Tensor
    log_variance: torch.Tensor | None = None


class MMDAutoencoder(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="hfplug-mmd-prior",
    tags=["hfplug", "hfplug-mmd-prior", "autoencoder", "disentanglement"],
    paper_url="https://arxiv.org/abs/2510.11953",
):
    """A deterministic autoencoder (or, with ``objective="vae"``, a VAE) with a ``latent_dim`` code.

    ``input_shape`` is ``[channels, 28, 28]`` for the conv networks or any shape for the MLPs.
    ``objective`` and ``prior`` record how the model was trained (``prior`` is the spec that
    :func:`hfplug_mmd_prior.build_prior` reads); only ``objective="vae"`` changes the network (a
    mean and log-variance head).
    """

    def __init__(
        self,
        input_shape: list[int] | tuple[int, ...] = (1, 28, 28),
        latent_dim: int = 12,
        architecture: str = "conv",
        channels: list[int] | tuple[int, ...] = (32, 32, 64, 64),
        hidden_sizes: list[int] | tuple[int, ...] = (256, 256),
        output_activation: str = "sigmoid",
        objective: str = "mmd",
        prior: dict[str, Any] | str = "gaussian",
    ) -> None:
        super().__init__()
        if objective not in OBJECTIVES:
            raise ConfigError(f"objective: unknown {objective!r}; choose one of {', '.join(OBJECTIVES)}.")
        if int(latent_dim) < 1:
            raise ConfigError(f"latent_dim: must be positive, got {latent_dim}.")
        self.input_shape = tuple(int(s) for s in input_shape)
        self.latent_dim = int(latent_dim)
        self.objective = objective
        self.prior_spec = prior
        self.variational = objective == "vae"
        head = 2 * self.latent_dim if self.variational else self.latent_dim
        self.encoder, self.decoder = networks.build_networks(
            architecture, self.input_shape, self.latent_dim, head, channels, hidden_sizes
        )
        self.output = networks.output_activation(output_activation)

    def encode(self, inputs: torch.Tensor) -> torch.Tensor:
        """The deterministic code of ``inputs`` (the posterior mean for a VAE)."""
        return self._encode(inputs)[0]

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Reconstructions of shape ``(n, *input_shape)`` from codes of shape ``(n, latent_dim)``."""
        if latents.ndim != 2 or latents.shape[1] != self.latent_dim:
            raise ConfigError(f"decode: expected latents of shape (n, {self.latent_dim}), got {tuple(latents.shape)}.")
        return self.output(self.decoder(latents))

    def forward(self, pixel_values: torch.Tensor) -> AutoencoderOutput:
        """Encode and decode a batch of shape ``(n, *input_shape)``."""
        if tuple(pixel_values.shape[1:]) != self.input_shape:
            raise ConfigError(
                f"inputs of shape {tuple(pixel_values.shape[1:])} do not match the model's "
                f"input_shape {self.input_shape}."
            )
        mean, log_variance = self._encode(pixel_values)
        latents = mean
        if self.variational and self.training:
            latents = mean + torch.randn_like(mean) * torch.exp(0.5 * log_variance)
        return AutoencoderOutput(latents, self.decode(latents), mean, log_variance)

    def _encode(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        features = self.encoder(inputs)
        if not self.variational:
            return features, None
        mean, log_variance = features.chunk(2, dim=1)
        return mean, log_variance

    def push_to_hub(  # type: ignore[override]
        self,
        repo_id: str,
        *,
        private: bool = False,
        token: str | None = None,
        branch: str | None = None,
        commit_message: str | None = None,
        create_pr: bool = False,
        metrics: dict[str, Any] | None = None,
        **_ignored: Any,
    ) -> str:
        """Save into a temporary folder and push it with hfplug's provenance card; returns the commit URL."""
        from hfplug.hub import push

        with tempfile.TemporaryDirectory(prefix="mmd-ae-push-") as folder:
            self.save_pretrained(folder)
            Path(folder, "hfplug_run.json").write_text(json.dumps(self.provenance(metrics), indent=2))
            return push(
                folder,
                repo_id,
                private=private,
                token=token,
                revision=branch,
                commit_message=commit_message,
                create_pr=create_pr,
            )

    def provenance(self, metrics: dict[str, Any] | None = None) -> dict[str, Any]:
        """The run record hfplug's card writer reads: plugin, version, paper, settings, metrics."""
        from importlib import metadata

        import hfplug

        version = metadata.version("hfplug-mmd-prior")
        component = {
            "kind": "model",
            "name": "mmd_ae",
            "distribution": "hfplug-mmd-prior",
            "version": version,
            "paper": PAPER,
        }
        return {
            "hfplug_version": hfplug.__version__,
            "components": [component],
            "config": dict(self._hub_mixin_config or {}),
            "metrics": metrics or {},
            "pip_install": f"pip install hfplug=={hfplug.__version__} hfplug-mmd-prior=={version}",
        }
