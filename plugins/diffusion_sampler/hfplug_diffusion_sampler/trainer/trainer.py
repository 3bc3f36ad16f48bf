"""The ``joint_sampler`` trainer: a ``transformers.Trainer`` whose model is the ADJUST sampler, distilled
from a frozen masked diffusion LM on the LM's own denoising trajectories (arXiv:2509.22738)."""

from __future__ import annotations

import os
from collections import defaultdict
from typing import Any

import torch
from torch import nn
from transformers import Trainer
from transformers.trainer import TRAINING_ARGS_NAME

from hfplug.errors import ConfigError

from ..loop import MaskedDiffusionModel, find_mask_token_id, load_sampler
from ..sampler import JointSampler, head_fingerprint
from .config import JointSamplerConfig
from .objective import distillation_batch, distillation_loss
from .prompts import LeftPaddingCollator, prompt_dataset
from .trajectories import RolloutSettings, teacher_rollout


class JointSamplerTrainer(Trainer):
    """Trains a ``JointSampler`` for ``model`` (frozen): pass the base model as ``model``, as ``hfplug train`` does.

    Each step rolls the batch's prompts out with exact K-token steps of the base model (the teacher) and
    minimises the KL of the sampler's q to the teacher's conditionals. Logs ``kl`` (the loss) and
    ``kl_marginal``: the same KL for independent marginal sampling, the baseline the sampler should beat.
    ``save_model`` writes the sampler alone (``JointSampler.from_pretrained`` loads it).
    """

    _tag_names = ["hfplug", "hfplug-diffusion-sampler", "joint-sampler"]

    def __init__(
        self,
        model: nn.Module,
        args: JointSamplerConfig,
        train_dataset: Any = None,
        eval_dataset: Any = None,
        processing_class: Any = None,
        sampler: JointSampler | str | None = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(args, JointSamplerConfig):
            raise TypeError(f"JointSamplerTrainer needs args=JointSamplerConfig(...), got {type(args).__name__}.")
        if processing_class is None:
            raise ConfigError("The joint_sampler trainer needs the base model's tokenizer (processing_class=...).")
        base = MaskedDiffusionModel(
            model, find_mask_token_id(model, args.mask_token_id, processing_class), args.shift_logits
        )
        model.requires_grad_(False)
        model.eval()
        name = getattr(getattr(model, "config", None), "_name_or_path", None) or None
        if sampler is None:
            sampler = JointSampler(
                hidden_size=base.hidden_size,
                vocab_size=base.vocab_size,
                num_attention_heads=args.sampler_num_attention_heads,
                intermediate_size=args.sampler_intermediate_size,
                fusion=args.sampler_fusion,
                base_model=name,
                base_fingerprint=head_fingerprint(base.head.weight),
            )
        else:
            sampler = load_sampler(sampler, base).float().train()
        sampler.requires_grad_(True)
        pad = processing_class.pad_token_id
        pad = (
            pad
            if pad is not None
            else processing_class.eos_token_id
            if processing_class.eos_token_id is not None
            else 0
        )
        kwargs.setdefault("data_collator", LeftPaddingCollator(pad))
        super().__init__(
            model=sampler,
            args=args,
            train_dataset=prompt_dataset(train_dataset, processing_class, args.prompt_length),
            eval_dataset=prompt_dataset(eval_dataset, processing_class, args.prompt_length, "evaluation"),
            processing_class=processing_class,
            **kwargs,
        )
        self.base = base
        model.to(self.args.device)
        self.rollout = RolloutSettings(
            tokens_per_step=args.tokens_per_step,
            max_new_tokens=args.max_new_tokens,
            block_length=args.block_length,
            position_choice=args.position_choice,
            temperature=args.rollout_temperature,
        )
        self._diagnostics: dict[str, dict[str, list[float]]] = {"train": defaultdict(list), "eval": defaultdict(list)}

    def _set_signature_columns_if_needed(self) -> None:
        self._signature_columns = ["input_ids"]

    def compute_loss(
        self, model: nn.Module, inputs: dict[str, Any], return_outputs: bool = False, num_items_in_batch: Any = None
    ) -> Any:
        """KL(teacher || sampler) averaged over every (step, k >= 2) of this batch's teacher rollouts."""
        records = teacher_rollout(self.base, inputs["input_ids"], inputs.get("attention_mask"), self.rollout)
        batch = distillation_batch(records, self.base)
        if batch is None:
            raise ConfigError("No rollout step unmasked two or more tokens: raise max_new_tokens or block_length.")
        loss, marginal = distillation_loss(model, self.base, batch)
        mode = "train" if model.training else "eval"
        # Averaged over every process (each holds as many examples per row), so the log describes the whole
        # batch rather than the main process's share of it.
        kl, kl_marginal = self.accelerator.gather(torch.stack([loss.detach(), marginal.float()])[None]).mean(dim=0)
        self._diagnostics[mode]["kl"].append(float(kl))
        self._diagnostics[mode]["kl_marginal"].append(float(kl_marginal))
        return (loss, {"kl": loss.detach()}) if return_outputs else loss

    def prediction_step(
        self, model: nn.Module, inputs: dict[str, Any], prediction_loss_only: bool, ignore_keys: Any = None
    ) -> tuple[torch.Tensor, None, None]:
        inputs = self._prepare_inputs(inputs)
        with torch.no_grad():
            loss = self.compute_loss(model, inputs)
        return loss.detach(), None, None

    def log(self, logs: dict[str, float], *args: Any, **kwargs: Any) -> None:
        mode = "eval" if any(key.startswith("eval_") for key in logs) else "train"
        prefix = "eval_" if mode == "eval" else ""
        for key, values in self._diagnostics[mode].items():
            if values:
                logs[prefix + key] = sum(values) / len(values)
        self._diagnostics[mode].clear()
        super().log(logs, *args, **kwargs)

    def _save(self, output_dir: str | None = None, state_dict: Any = None) -> None:
        """The sampler alone, as ``JointSampler.save_pretrained`` writes it (config.json + model.safetensors)."""
        output_dir = output_dir or self.args.output_dir
        os.makedirs(output_dir, exist_ok=True)
        self.accelerator.unwrap_model(self.model).save_pretrained(output_dir)
        torch.save(self.args, os.path.join(output_dir, TRAINING_ARGS_NAME))
