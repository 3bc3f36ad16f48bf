"""What every masked-diffusion strategy does with the arguments of ``model.generate``: check them, build
the canvas (prompt + ``max_new_tokens`` mask tokens), denoise, and package the result.

Works for models with transformers' ``GenerationMixin`` (``model.generate(custom_generate=...)``) and
without it (Dream, LLaDA and plain ``*ForMaskedLM`` under transformers 5): call the folder's
``generate(model=model, ...)`` directly, e.g. through ``GenerationMixin.load_custom_generate``.
"""

from __future__ import annotations

import copy
import logging
import warnings
from dataclasses import dataclass
from typing import Any

import torch
from transformers import GenerationConfig
from transformers.utils import ModelOutput

from .denoising import Denoiser
from .masked_model import MaskedDiffusionModel, find_mask_token_id
from .positions import POSITION_CHOICES
from .sampler_layer import JointSampler, head_fingerprint
from .token_draw import TokenDraw

logger = logging.getLogger(__name__)

# generate() arguments with no meaning for a denoising loop: passing one is an error, never ignored.
UNSUPPORTED_ARGUMENTS = (
    "logits_processor",
    "stopping_criteria",
    "prefix_allowed_tokens_fn",
    "synced_gpus",
    "assistant_model",
    "streamer",
    "negative_prompt_ids",
    "negative_prompt_attention_mask",
)
# GenerationConfig fields that must keep these values: beams, several sequences per prompt and processors
# that look at the prefix have no meaning in a denoising loop. Temperature, top-k and top-p are honoured.
REQUIRED_SETTINGS = {
    "num_beams": (None, 1),
    "num_return_sequences": (None, 1),
    "repetition_penalty": (None, 1.0),
    "no_repeat_ngram_size": (None, 0),
    "min_new_tokens": (None, 0),
    "bad_words_ids": (None,),
    "output_scores": (None, False),
    "output_logits": (None, False),
}
IGNORED_ARGUMENTS = ("use_cache", "pad_token_id", "eos_token_id", "bos_token_id", "use_model_defaults")
# What transformers used to fetch this strategy from the Hub (model.generate(custom_generate=REPO,
# revision=SHA, ...)); it forwards them to generate() too, where they mean nothing. A folder loaded from
# the Hub cannot import hfplug, so the list lives here; hfplug.testing.strategies checks it.
HUB_LOADING_ARGUMENTS = ("revision", "token", "cache_dir", "force_download", "proxies", "local_files_only", "repo_type")


@dataclass
class DiffusionGenerateOutput(ModelOutput):
    """``sequences`` (prompt + generated tokens) and ``diffusion_stats`` (steps, full and sampler passes)."""

    sequences: torch.Tensor | None = None
    diffusion_stats: dict | None = None


def check_tokens_per_step(tokens_per_step: Any) -> int:
    """K must be an integer >= 1."""
    if isinstance(tokens_per_step, bool) or not isinstance(tokens_per_step, int) or tokens_per_step < 1:
        raise ValueError(f"tokens_per_step must be an integer >= 1, got {tokens_per_step!r}.")
    return tokens_per_step


def load_sampler(sampler: Any, base: MaskedDiffusionModel) -> JointSampler:
    """A ``JointSampler`` (object, folder or Hub id) checked against the base model it will run on."""
    if isinstance(sampler, str):
        # Building the layers draws random initial weights; keep the caller's seed for the sampling itself.
        with torch.random.fork_rng(devices=[]):
            sampler = JointSampler.from_pretrained(sampler)
    for attribute in ("hidden_size", "vocab_size", "keys_values", "read", "fuse"):
        if not hasattr(sampler, attribute):
            raise ValueError(f"sampler must be a JointSampler, a folder or a Hub id; got {type(sampler).__name__}.")
    trained_for = f" (trained for {sampler.base_model})" if getattr(sampler, "base_model", None) else ""
    if sampler.hidden_size != base.hidden_size:
        raise ValueError(
            f"The sampler{trained_for} expects hidden size {sampler.hidden_size}, but this model's LM head reads "
            f"{base.hidden_size}: it was trained for another base model."
        )
    if sampler.vocab_size != base.vocab_size:
        raise ValueError(
            f"The sampler{trained_for} expects a vocabulary of {sampler.vocab_size}, but this model has "
            f"{base.vocab_size}: it was trained for another base model."
        )
    fingerprint = getattr(sampler, "base_fingerprint", None)
    if fingerprint and fingerprint != head_fingerprint(base.head.weight):
        warnings.warn(
            f"The sampler{trained_for} was trained on a model with other LM-head weights; its samples follow "
            "this model only as far as the two models agree.",
            stacklevel=3,
        )
    weight = base.head.weight
    return sampler.to(device=weight.device, dtype=weight.dtype).eval()


def _prompt(arguments: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor | None]:
    prompt = arguments.pop("input_ids", None)
    inputs = arguments.pop("inputs", None)
    prompt = inputs if prompt is None else prompt
    if not isinstance(prompt, torch.Tensor) or prompt.dim() != 2 or prompt.shape[0] == 0 or prompt.shape[1] == 0:
        raise ValueError("Pass input_ids (or inputs) as a non-empty LongTensor of shape (batch, length).")
    mask = arguments.pop("attention_mask", None)
    if mask is None:
        return prompt, None
    if mask.shape != prompt.shape:
        raise ValueError(f"attention_mask has shape {tuple(mask.shape)}, input_ids {tuple(prompt.shape)}.")
    columns = torch.arange(prompt.shape[1], device=mask.device)
    padding = (~mask.bool()).sum(dim=1)
    if not torch.equal(mask.bool(), columns[None] >= padding[:, None]):
        raise ValueError("attention_mask must be left padding (pad columns first): use tokenizer.padding_side='left'.")
    if bool((padding == prompt.shape[1]).any()):
        raise ValueError("A row of the batch is all padding: pass at least one token per row.")
    return prompt, None if bool(mask.bool().all()) else mask


def _generation_config(model: Any, arguments: dict[str, Any]) -> GenerationConfig:
    given = arguments.pop("generation_config", None)
    config = copy.deepcopy(given or getattr(model, "generation_config", None) or GenerationConfig())
    updates = {name: arguments.pop(name) for name in list(arguments) if name != "max_length" and hasattr(config, name)}
    max_length = arguments.pop("max_length", None)
    config.update(**updates)
    if max_length is not None and "max_new_tokens" not in updates:
        config.max_new_tokens = None
        config.max_length = max_length
    for name, allowed in REQUIRED_SETTINGS.items():
        if getattr(config, name, None) not in allowed:
            raise ValueError(f"{name}={getattr(config, name)!r} is not supported by masked diffusion decoding.")
    return config


def run_diffusion_generation(
    model: Any, arguments: dict[str, Any], *, mode: str, tokens_per_step: int, sampler: Any = None
) -> torch.Tensor | DiffusionGenerateOutput:
    """Generate with a masked diffusion LM and return what ``model.generate`` would.

    ``arguments`` are the keyword arguments ``model.generate`` received, including the loop's own
    ``block_length``, ``position_choice``, ``shift_logits`` and ``mask_token_id`` (see ``joint_sampler``).
    """
    arguments = {
        key: value for key, value in arguments.items() if value is not None and key not in HUB_LOADING_ARGUMENTS
    }
    block_length = arguments.pop("block_length", None)
    position_choice = arguments.pop("position_choice", "confidence")
    shift_logits = arguments.pop("shift_logits", None)
    mask_token_id = arguments.pop("mask_token_id", None)
    for name in UNSUPPORTED_ARGUMENTS:
        if arguments.pop(name, None):
            raise ValueError(f"{name} is not supported by masked diffusion decoding.")
    tokens_per_step = check_tokens_per_step(tokens_per_step)
    if block_length is not None and (not isinstance(block_length, int) or block_length < 1):
        raise ValueError(f"block_length must be an integer >= 1 or None, got {block_length!r}.")
    if position_choice not in POSITION_CHOICES:
        raise ValueError(f"position_choice must be one of {', '.join(POSITION_CHOICES)}, got {position_choice!r}.")
    tokenizer = arguments.pop("tokenizer", None)
    base = MaskedDiffusionModel(model, find_mask_token_id(model, mask_token_id, tokenizer), shift_logits)
    prompt, attention_mask = _prompt(arguments)
    config = _generation_config(model, arguments)
    for name in IGNORED_ARGUMENTS:
        arguments.pop(name, None)
    if arguments:
        raise ValueError(f"Unknown or unsupported generate() arguments: {', '.join(sorted(arguments))}.")
    new_tokens = config.max_new_tokens
    if new_tokens is None:
        new_tokens = max((config.max_length or 0) - prompt.shape[1], 0)
    if new_tokens < 1:
        raise ValueError("Nothing to generate: set max_new_tokens >= 1.")
    if mode == "joint" and tokens_per_step > 1:
        if sampler is None:
            raise ValueError("joint_sampler with tokens_per_step > 1 needs sampler=... (a trained JointSampler).")
        sampler = load_sampler(sampler, base)

    draw = TokenDraw(config.do_sample, config.temperature, config.top_k, config.top_p)
    masks = prompt.new_full((prompt.shape[0], new_tokens), base.mask_token_id)
    canvas = torch.cat([prompt, masks], dim=1)
    if attention_mask is not None:
        attention_mask = torch.cat([attention_mask, attention_mask.new_ones(masks.shape)], dim=1)
    denoiser = Denoiser(
        base,
        draw,
        mode=mode,
        tokens_per_step=tokens_per_step,
        position_choice=position_choice,
        block_length=block_length,
        sampler=sampler if mode == "joint" and tokens_per_step > 1 else None,
    )
    with torch.inference_mode():
        denoiser.run(canvas, attention_mask, prompt.shape[1])
    stats = denoiser.stats.as_dict()
    logger.info("%s decoding: %s", mode, stats)
    if config.return_dict_in_generate:
        return DiffusionGenerateOutput(sequences=canvas, diffusion_stats=stats)
    return canvas
