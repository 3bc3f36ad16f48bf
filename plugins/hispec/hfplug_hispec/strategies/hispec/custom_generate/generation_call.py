"""What every early-exit strategy does with the arguments of ``model.generate``: check them, pick
greedy or sampling, decode, and package the result like transformers does."""

from __future__ import annotations

import inspect
import itertools
import logging
import warnings
from dataclasses import dataclass
from typing import Any

import torch
from transformers import DynamicCache, GenerationConfig
from transformers.generation.utils import GenerateDecoderOnlyOutput, GenerationMixin

from .acceptance import GreedyChooser, SamplingChooser, Warp, logits_warp
from .layer_stack import check_supported
from .speculation import HierarchicalDecoder, SpeculationStats
from .static_decoding import StaticDecodingRun, default_compile_options, static_speculation_for

logger = logging.getLogger(__name__)

# generate() arguments that these strategies cannot honour; passing one is an error, never ignored.
UNSUPPORTED_ARGUMENTS = (
    "synced_gpus",
    "prefix_allowed_tokens_fn",
    "assistant_model",
    "streamer",
    "negative_prompt_ids",
    "negative_prompt_attention_mask",
)
# GenerationConfig fields that must keep these values (processors that depend on the prefix,
# beams, several sequences, extra outputs).
REQUIRED_SETTINGS = {
    "num_beams": (None, 1),
    "num_return_sequences": (None, 1),
    "repetition_penalty": (None, 1.0),
    "no_repeat_ngram_size": (None, 0),
    "min_new_tokens": (None, 0),
    "min_length": (None, 0),
    "bad_words_ids": (None,),
    "typical_p": (None, 1.0),
    "min_p": (None, 0.0),
    "epsilon_cutoff": (None, 0.0),
    "eta_cutoff": (None, 0.0),
    "output_scores": (None, False),
    "output_logits": (None, False),
    "output_attentions": (None, False),
    "output_hidden_states": (None, False),
    "assistant_early_exit": (None,),
    "prompt_lookup_num_tokens": (None,),
    "stop_strings": (None,),
}
# "tokenizer" only serves stop_strings, which are refused above.
MODEL_ARGUMENTS_ALLOWED = ("attention_mask", "use_cache", "tokenizer")
# What transformers used to fetch this strategy from the Hub (model.generate(custom_generate=REPO,
# revision=SHA, ...)); it forwards them to generate() too, where they mean nothing. A folder loaded from
# the Hub cannot import hfplug, so the list lives here; hfplug.testing.strategies checks it.
HUB_LOADING_ARGUMENTS = ("revision", "token", "cache_dir", "force_download", "proxies", "local_files_only", "repo_type")
# Below this draft acceptance (over enough drafts) the exits are not trained: speculation is slower.
UNTRAINED_ACCEPTANCE = 0.3
MIN_DRAFTS_TO_JUDGE = 8


class UntrainedExitsWarning(UserWarning):
    """The model's early exits rarely agree with deeper layers, so speculative decoding is slower than plain."""


# transformers 5.24 renamed the output's ``past_key_values`` to ``cache``; fill whichever this version has.
CACHE_FIELD = "cache" if "cache" in GenerateDecoderOnlyOutput.__dataclass_fields__ else "past_key_values"


@dataclass
class EarlyExitGenerateOutput(GenerateDecoderOnlyOutput):
    """transformers' decoder-only output plus the speculation counters (``speculation_stats``)."""

    speculation_stats: dict | None = None


def validate_exits(exits: list[int], num_layers: int, names: list[str]) -> None:
    """Exit layers must be strictly increasing, >= 1, and below the number of layers."""
    for name, layer in zip(names, exits, strict=True):
        if not isinstance(layer, int) or layer < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {layer!r}.")
        if layer >= num_layers:
            raise ValueError(f"{name}={layer} must be < the model's number of layers ({num_layers}).")
    for (lower_name, lower), (upper_name, upper) in itertools.pairwise(zip(names, exits, strict=True)):
        if lower >= upper:
            raise ValueError(f"{lower_name}={lower} must be < {upper_name}={upper}.")


def _check_arguments(arguments: dict[str, Any], generation_config: GenerationConfig, model_kwargs: dict) -> None:
    for name in UNSUPPORTED_ARGUMENTS:
        if arguments.get(name) not in (None, False):
            raise ValueError(f"{name} is not supported by early-exit speculative decoding.")
    for name in ("logits_processor", "stopping_criteria"):
        if arguments.get(name):
            raise ValueError(f"Custom {name} is not supported by early-exit speculative decoding.")
    for name, allowed in REQUIRED_SETTINGS.items():
        value = getattr(generation_config, name, None)
        if value not in allowed:
            raise ValueError(f"{name}={value!r} is not supported by early-exit speculative decoding.")
    unknown = sorted(set(model_kwargs) - set(MODEL_ARGUMENTS_ALLOWED))
    if unknown:
        raise ValueError(f"Unknown or unsupported generate() arguments: {', '.join(unknown)}.")


def _chooser(generation_config: GenerationConfig) -> GreedyChooser | SamplingChooser:
    if not generation_config.do_sample:
        return GreedyChooser()
    return SamplingChooser(_warp(generation_config))


def _warp(generation_config: GenerationConfig) -> Warp:
    return logits_warp(generation_config.temperature, generation_config.top_k, generation_config.top_p)


def _prompt(arguments: dict[str, Any], model_kwargs: dict) -> tuple[torch.Tensor, list[int]]:
    """The prompt (batch x length) and how many leading pad columns each row has."""
    prompt = model_kwargs.pop("input_ids", None)
    if prompt is None:
        prompt = arguments.get("inputs")
    if prompt is None or not isinstance(prompt, torch.Tensor) or prompt.dim() != 2:
        raise ValueError("Pass input_ids (or inputs) as a LongTensor of shape (batch, length).")
    if prompt.shape[0] == 0:
        raise ValueError("The batch is empty: pass at least one prompt.")
    if prompt.shape[1] == 0:
        raise ValueError("The prompt is empty: pass at least one token.")
    mask = model_kwargs.get("attention_mask")
    if mask is None:
        return prompt, [0] * prompt.shape[0]
    if mask.shape != prompt.shape:
        raise ValueError(f"attention_mask has shape {tuple(mask.shape)}, input_ids {tuple(prompt.shape)}.")
    mask = mask.bool()
    padding = (~mask).sum(dim=1)
    # Left padding only: each row is pad columns, then its tokens (what padding_side="left" gives).
    columns = torch.arange(prompt.shape[1], device=mask.device)
    if not torch.equal(mask, columns[None] >= padding[:, None]):
        raise ValueError(
            "attention_mask must be left padding (pad columns first, then tokens): use tokenizer.padding_side = 'left'."
        )
    if bool((padding == prompt.shape[1]).any()):
        raise ValueError("A row of the batch is all padding: pass at least one token per row.")
    return prompt, padding.tolist()


def _warn_if_exits_untrained(summary: dict[str, Any], strategy: str) -> None:
    """Say so when some level rarely accepted what the exit below proposed: an ordinary checkpoint's exits
    are poor drafters (plain decoding has no levels and says nothing)."""
    judged = [level for level in summary["acceptance"] if level["proposed"] >= MIN_DRAFTS_TO_JUDGE]
    worst = min(judged, key=lambda level: level["rate"], default=None)
    if worst is not None and worst["rate"] < UNTRAINED_ACCEPTANCE:
        warnings.warn(
            f"{strategy}: the exit at layer {worst['proposer_exit']} agreed with layer {worst['verifier_exit']} on "
            f"only {worst['rate']:.0%} of {worst['proposed']} proposed tokens, so speculation costs more than it "
            "saves: this model's early exits look untrained, and plain decoding is faster. Train them first "
            "(trainer: early_exit in hfplug-hispec), or decode without this strategy.",
            UntrainedExitsWarning,
            stacklevel=2,
        )


def _decode_static(
    model: Any,
    exits: list[int],
    windows: list[int],
    prompt: torch.Tensor,
    padding: list[int],
    generation_config: GenerationConfig,
    max_new_tokens: int,
    eos_token_ids: set[int],
    float32_logits: bool,
    compile_options: dict[str, Any] | None,
) -> tuple[list[list[int]], SpeculationStats, DynamicCache]:
    """``compile=True``: fixed-shape steps compiled once per setting (see ``static_decoding``)."""
    sampling = None
    if generation_config.do_sample:
        sampling = (generation_config.temperature, generation_config.top_k, generation_config.top_p)
    if prompt.shape[0] != 1 or any(padding):
        raise ValueError("compile=True decodes one unpadded prompt at a time (batch size 1).")
    device = model.lm_head.weight.device
    options = default_compile_options(device) if compile_options is None else compile_options
    max_length = prompt.shape[1] + max_new_tokens
    # no_grad, not inference_mode: tensors made under inference mode cannot be saved across compiled calls.
    with torch.no_grad():
        static = static_speculation_for(model, exits, windows, max_length, float32_logits, options, sampling)
        row, stats = StaticDecodingRun(static, eos_token_ids).decode(prompt[0].tolist(), max_new_tokens)
    return [row], stats, static.to_dynamic_cache(max(len(row) - 1, 0))


def run_early_exit_generation(
    model: Any, exits: list[int], windows: list[int], arguments: dict[str, Any], strategy: str
) -> torch.Tensor | EarlyExitGenerateOutput:
    """Decode with ``exits`` (the last is the full model) and return what ``model.generate`` would.

    ``arguments`` are the keyword arguments ``model.generate`` received (transformers forwards them
    all to a ``custom_generate`` function); ``windows[k]`` is how many candidates level k collects.
    ``float32_logits=True`` among them computes every exit's logits in float32 (see ``exit_head``):
    in bfloat16 the tokens are then chosen, and drafts verified, by float32 comparisons.
    """
    check_supported(model)
    float32_logits = arguments.pop("float32_logits", False)
    if not isinstance(float32_logits, bool):
        raise ValueError(f"float32_logits must be True or False, got {float32_logits!r}.")
    compile_step = arguments.pop("compile", False)
    compile_options = arguments.pop("compile_options", None)
    if not isinstance(compile_step, bool):
        raise ValueError(f"compile must be True or False, got {compile_step!r}.")
    if compile_options is not None and not isinstance(compile_options, dict):
        raise ValueError(f"compile_options must be a dict of torch.compile arguments, got {compile_options!r}.")
    for name in HUB_LOADING_ARGUMENTS:
        arguments.pop(name, None)
    # Named parameters of generate() stay here; everything else is a generation-config field or a model input.
    named = set(inspect.signature(GenerationMixin.generate).parameters) - {"self", "kwargs"}
    call_arguments = {key: arguments.pop(key) for key in list(arguments) if key in named}
    generation_config, model_kwargs = model._prepare_generation_config(
        call_arguments.pop("generation_config", None), **arguments
    )
    prompt, padding = _prompt(call_arguments, model_kwargs)
    _check_arguments(call_arguments, generation_config, model_kwargs)
    if generation_config.max_new_tokens is not None:
        max_new_tokens = generation_config.max_new_tokens
    else:
        max_new_tokens = max(generation_config.max_length - prompt.shape[1], 0)
    eos = generation_config.eos_token_id
    eos_list = [] if eos is None else [int(e) for e in (eos if isinstance(eos, (list, tuple)) else [eos])]
    # Rows that end early are filled with the pad token, or (as transformers does) the first EOS.
    pad = generation_config.pad_token_id
    pad = int(pad) if pad is not None else (eos_list[0] if eos_list else None)
    if compile_step:
        rows, stats, cache = _decode_static(
            model,
            exits,
            windows,
            prompt,
            padding,
            generation_config,
            max_new_tokens,
            set(eos_list),
            float32_logits,
            compile_options,
        )
    else:
        decoder = HierarchicalDecoder(
            model, exits, windows, _chooser(generation_config), set(eos_list), pad, float32_logits=float32_logits
        )
        # inference_mode, not no_grad: it halves the per-operation cost that dominates small-batch decoding.
        with torch.inference_mode():
            rows, stats = decoder.decode(prompt.tolist(), max_new_tokens, padding)
        cache = decoder.stack.cache()
    sequences = torch.tensor(rows, dtype=prompt.dtype, device=prompt.device)
    summary = stats.as_dict()
    logger.info("%s decoding: %s", strategy, summary)
    _warn_if_exits_untrained(summary, strategy)
    if generation_config.return_dict_in_generate:
        return EarlyExitGenerateOutput(sequences=sequences, speculation_stats=summary, **{CACHE_FIELD: cache})
    return sequences
