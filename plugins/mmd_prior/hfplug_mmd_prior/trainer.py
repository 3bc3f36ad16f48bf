"""``MMDAETrainer``: a ``transformers.Trainer`` for AE-MMD and its baselines.

It builds its own ``MMDAutoencoder`` from the config and the data (or loads one from a folder),
so ``hfplug train`` with ``trainer: mmd_ae`` needs no ``model_name_or_path``; everything else
(logging, evaluation, checkpoints, resume, ``accelerate launch``) is Trainer's.
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from typing import Any

import torch
from transformers import Trainer
from transformers.trainer import TRAINING_ARGS_NAME

from hfplug.distributed import gather_with_grad
from hfplug.errors import ConfigError, HfplugError
from hfplug_mmd_prior.config import MMDAEConfig
from hfplug_mmd_prior.inputs import InputCollator, default_rescale, first_example, infer_input_shape, pick_architecture
from hfplug_mmd_prior.mmd import mmd2
from hfplug_mmd_prior.model import MMDAutoencoder
from hfplug_mmd_prior.objectives import batch_gaussian_kl, gaussian_kl, reconstruction_mse
from hfplug_mmd_prior.priors import build_prior, sample_prior


class NonFiniteLossError(HfplugError):
    """The loss became NaN or infinite; training stops before anything else is saved."""


class MMDAETrainer(Trainer):
    """Trains an :class:`MMDAutoencoder` with ``args.objective`` (``mmd``, ``vae``, ``kld`` or ``ae``).

    ``model`` may be an ``MMDAutoencoder``, a folder or ``hub:`` id to load one from, or ``None``
    to build a fresh one from ``args`` and the shape of ``train_dataset[0][args.input_column]``.
    Logs ``reconstruction_mse`` and ``mmd2`` / ``kl`` next to the loss.
    """

    _tag_names = ["hfplug", "hfplug-mmd-prior", "mmd_ae"]

    def __init__(
        self,
        model: MMDAutoencoder | str | None = None,
        args: MMDAEConfig | None = None,
        train_dataset: Any = None,
        eval_dataset: Any = None,
        processing_class: Any = None,
        data_collator: Any = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(args, MMDAEConfig):
            raise ConfigError(f"trainer 'mmd_ae' needs an MMDAEConfig, got {type(args).__name__}.")
        example = first_example(train_dataset, args.input_column)
        model = self._resolve_model(model, args, example)
        if eval_dataset is not None:
            first_example(eval_dataset, args.input_column)
        self.prior = build_prior(args.prior, model.latent_dim) if args.objective == "mmd" else None
        collator = data_collator or InputCollator(
            args.input_column, model.input_shape, default_rescale(example, args.rescale_factor)
        )
        super().__init__(
            model=model,
            args=args,
            data_collator=collator,
            train_dataset=train_dataset,
            eval_dataset=eval_dataset,
            processing_class=processing_class,
            **kwargs,
        )
        self.loss_is_scaled_for_ga = False  # a per-batch mean: Trainer divides it under accumulation
        self._metrics: dict[str, dict[str, list[float]]] = {"train": defaultdict(list), "eval": defaultdict(list)}

    @staticmethod
    def _resolve_model(model: Any, args: MMDAEConfig, example: Any) -> MMDAutoencoder:
        if model is None:
            input_shape = infer_input_shape(example, args.architecture, args.input_shape)
            return MMDAutoencoder(
                input_shape=list(input_shape),
                latent_dim=args.latent_dim,
                architecture=pick_architecture(args.architecture, input_shape),
                channels=list(args.channels),
                hidden_sizes=list(args.hidden_sizes),
                output_activation=args.output_activation,
                objective=args.objective,
                prior=args.prior,
            )
        if isinstance(model, str):
            from hfplug.assets import resolve_model_path

            model = MMDAutoencoder.from_pretrained(resolve_model_path(model))
        if not isinstance(model, MMDAutoencoder):
            raise ConfigError(f"trainer 'mmd_ae' trains an MMDAutoencoder, got {type(model).__name__}.")
        if model.variational != (args.objective == "vae"):
            raise ConfigError(
                f"objective: {args.objective!r} cannot continue a model trained with objective {model.objective!r} "
                "(a VAE's encoder has a mean and a variance head, the others do not)."
            )
        if model.latent_dim != args.latent_dim:
            raise ConfigError(f"latent_dim: the config says {args.latent_dim}, the model has {model.latent_dim}.")
        if example.size != math.prod(model.input_shape):
            raise ConfigError(
                f"the model takes inputs of shape {list(model.input_shape)}; examples have {example.size} values."
            )
        return model

    def objective_terms(self, inputs: torch.Tensor, outputs: Any) -> dict[str, torch.Tensor]:
        """The named parts of the loss for one batch (their sum is the loss)."""
        args = self.args
        mse = reconstruction_mse(inputs, outputs.reconstruction)
        if args.objective == "ae":
            return {"reconstruction_mse": mse}
        if args.objective == "mmd":
            # MMD is not a sum over rows: every process compares the codes of all processes (gradients flow
            # back to each row's own process) with one prior sample of the same size, drawn identically on
            # every process from their shared seed, so a data-parallel step equals one process on the whole batch.
            codes = gather_with_grad(outputs.latents)
            target = sample_prior(self.prior, len(codes), like=codes)
            divergence = mmd2(codes, target, args.mmd_estimator, scales=args.kernel_scales)
            return {"reconstruction_mse": mse, "mmd2": args.prior_weight * divergence}
        if args.objective == "kld":
            # Batch statistics, like MMD: taken over every process's codes.
            kld = batch_gaussian_kl(gather_with_grad(outputs.latents))
            return {"reconstruction_mse": mse, "kl": args.prior_weight * kld}
        elements = inputs[0].numel()
        return {
            "reconstruction_mse": mse / (2 * args.vae_decoder_variance),
            "kl": args.beta * gaussian_kl(outputs.mean, outputs.log_variance) / elements,
        }

    def compute_loss(
        self, model: Any, inputs: dict[str, Any], return_outputs: bool = False, num_items_in_batch: Any = None
    ) -> Any:
        pixel_values = inputs["pixel_values"]
        outputs = model(pixel_values=pixel_values)
        terms = self.objective_terms(pixel_values, outputs)
        loss = sum(terms.values())
        if not torch.isfinite(loss):
            raise NonFiniteLossError(
                f"The {self.args.objective} loss is {loss.item()} at step {self.state.global_step} "
                f"({', '.join(f'{k}={v.item():.4g}' for k, v in terms.items())}); nothing more is saved. "
                "Lower the learning rate or check the inputs."
            )
        mode = "train" if model.training else "eval"
        # Logged unweighted, so runs with different weights compare (the loss carries the weights), and averaged
        # over processes (equal batches), so the log describes the whole batch, not the main process's share.
        unweighted = {"reconstruction_mse": reconstruction_mse(pixel_values, outputs.reconstruction).detach()}
        for name in ("mmd2", "kl"):
            if name in terms:
                weight = self._term_weight(name)
                unweighted[name] = terms[name].detach() / weight if weight else torch.zeros_like(terms[name])
        gathered = self.accelerator.gather(torch.stack(list(unweighted.values()))[None]).mean(dim=0)
        for name, value in zip(unweighted, gathered.tolist(), strict=True):
            self._metrics[mode][name].append(value)
        return (loss, outputs) if return_outputs else loss

    def _term_weight(self, name: str) -> float:
        if self.args.objective == "vae":
            return self.args.beta / math.prod(self.accelerator.unwrap_model(self.model).input_shape)
        return self.args.prior_weight

    def prediction_step(
        self, model: Any, inputs: dict[str, Any], prediction_loss_only: bool, ignore_keys: Any = None
    ) -> tuple[torch.Tensor | None, None, None]:
        """Evaluation is the loss on the batch (the latents are read with ``hfplug mmd-ae eval``)."""
        inputs = self._prepare_inputs(inputs)
        with torch.no_grad():
            loss = self.compute_loss(model, inputs)
        return loss.detach(), None, None

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        mode = "train" if self.model.training else "eval"
        prefix = "eval_" if mode == "eval" else ""
        for name, values in self._metrics[mode].items():
            if values:
                logs[f"{prefix}{name}"] = sum(values) / len(values)
        self._metrics[mode].clear()
        super().log(logs, start_time)

    def _save(self, output_dir: str | None = None, state_dict: Any = None) -> None:
        """``save_pretrained`` (config.json + model.safetensors, loadable with ``from_pretrained``) and the args."""
        output_dir = output_dir or self.args.output_dir
        if not self.args.should_save:
            return
        os.makedirs(output_dir, exist_ok=True)
        self.accelerator.unwrap_model(self.model).save_pretrained(output_dir)
        torch.save(self.args, os.path.join(output_dir, TRAINING_ARGS_NAME))
