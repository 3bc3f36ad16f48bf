"""Draw context-free sequences from the frozen base model: generation starts from the start token alone."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hfplug.errors import ConfigError
from hfplug_context_free.cache import cache_file, model_fingerprint, read_samples, write_samples
from hfplug_context_free.config import ContextFreeConfig


def resolve_start_token_id(tokenizer: Any, start_token: str | None = None) -> int:
    """The id generation starts from: ``start_token`` when given, else the tokenizer's BOS.

    Raises :class:`ConfigError` when the tokenizer has no BOS and none was configured, or when the
    configured token is not in the vocabulary.
    """
    if start_token is not None:
        vocabulary = tokenizer.get_vocab()
        if start_token not in vocabulary:
            raise ConfigError(f"context_free: start_token {start_token!r} is not in the tokenizer's vocabulary.")
        return int(vocabulary[start_token])
    if tokenizer.bos_token_id is None:
        raise ConfigError(
            "context_free: the tokenizer has no BOS token, so there is no default start token. Set `start_token` "
            "to the model's documented start of text (often its EOS, e.g. '<|endoftext|>')."
        )
    return int(tokenizer.bos_token_id)


def end_token_ids(model: Any, tokenizer: Any | None = None) -> list[int]:
    """Every token id that ends a sequence (the tokenizer's EOS and the model's generation EOS ids)."""
    ids: list[int] = []
    configured = model.generation_config.eos_token_id
    for token_id in [getattr(tokenizer, "eos_token_id", None), *_as_list(configured)]:
        if token_id is not None and int(token_id) not in ids:
            ids.append(int(token_id))
    return ids


def trim_after_end(tokens: list[int], end_ids: list[int]) -> list[int]:
    """Keep tokens up to and including the first end token; what follows is padding."""
    for position, token_id in enumerate(tokens):
        if token_id in end_ids:
            return tokens[: position + 1]
    return tokens


def generate_context_free(
    model: Any,
    start_token_id: int,
    num_samples: int,
    config: ContextFreeConfig | None = None,
    *,
    seed: int = 0,
    end_ids: list[int] | None = None,
) -> list[list[int]]:
    """Sample ``num_samples`` sequences x ~ p_model(x | start token); return the generated ids (no start token).

    Each batch's input is the start token alone. Batch ``b`` is seeded with ``seed + b`` inside a forked
    RNG, so results are reproducible and the caller's random state is left untouched. Only the config's
    temperature/top_p/top_k shape the distribution: see :func:`unbiased_generation_config`.
    """
    import torch
    from tqdm.auto import tqdm

    config = config or ContextFreeConfig()
    end_ids = end_token_ids(model) if end_ids is None else list(end_ids)
    pad_id = model.generation_config.pad_token_id
    if pad_id is None:
        pad_id = end_ids[0] if end_ids else start_token_id
    generation_config = unbiased_generation_config(config, end_ids, pad_id)
    device = model.device
    cuda_devices = [device.index or 0] if device.type == "cuda" else []
    samples: list[list[int]] = []
    starts = range(0, num_samples, config.batch_size)
    with torch.random.fork_rng(devices=cuda_devices), torch.inference_mode(), _plain_generation_defaults(model):
        for batch_index, first in enumerate(
            tqdm(starts, desc="context-free samples", unit="batch", disable=not config.progress)
        ):
            size = min(config.batch_size, num_samples - first)
            torch.manual_seed(seed + batch_index)
            input_ids = torch.full((size, 1), start_token_id, dtype=torch.long, device=device)
            output = model.generate(
                input_ids=input_ids, attention_mask=torch.ones_like(input_ids), generation_config=generation_config
            )
            samples.extend(trim_after_end(row, end_ids) for row in output[:, 1:].tolist())
    return samples


def unbiased_generation_config(config: ContextFreeConfig, end_ids: list[int], pad_id: int) -> Any:
    """A ``GenerationConfig`` that samples p_model itself, apart from the configured temperature/top_p/top_k.

    ``generate`` fills every field left ``None`` from the model's saved generation config and then from
    global defaults, and the global default is ``top_k=50``: a silent truncation of the distribution. So
    every setting that reshapes the distribution is given explicitly here.
    """
    from transformers import GenerationConfig

    return GenerationConfig(
        do_sample=True,
        temperature=config.temperature,
        top_p=config.top_p,
        top_k=config.top_k,  # 0 = off; None would mean 50
        min_p=None,
        typical_p=1.0,
        epsilon_cutoff=0.0,
        eta_cutoff=0.0,
        repetition_penalty=1.0,
        no_repeat_ngram_size=0,
        min_length=0,
        max_new_tokens=config.max_new_tokens,
        eos_token_id=end_ids or None,
        pad_token_id=pad_id,
    )


@contextlib.contextmanager
def _plain_generation_defaults(model: Any) -> Iterator[None]:
    """Hide the model's saved generation config (suppressed tokens, bad words, min_p, ...) while sampling,
    so that nothing stored with the checkpoint reshapes p_model; it is restored afterwards."""
    from transformers import GenerationConfig

    saved = model.generation_config
    model.generation_config = GenerationConfig(
        bos_token_id=saved.bos_token_id, eos_token_id=saved.eos_token_id, pad_token_id=saved.pad_token_id
    )
    try:
        yield
    finally:
        model.generation_config = saved


def draw_context_free_samples(
    model: Any,
    tokenizer: Any,
    num_samples: int,
    config: ContextFreeConfig | None = None,
    *,
    seed: int = 0,
    cache_dir: str | Path | None = None,
) -> list[list[int]]:
    """Generated ids of ``num_samples`` context-free sequences, read from / written to ``cache_dir``.

    The cache key holds a hash of the model weights, the start and end tokens, the sampling settings,
    the number of samples and the seed. ``cache_dir=None`` (or ``config.use_cache=False``) skips the cache.
    """
    config = config or ContextFreeConfig()
    start_id = resolve_start_token_id(tokenizer, config.start_token)
    end_ids = end_token_ids(model, tokenizer)
    use_cache = cache_dir is not None and config.use_cache
    if use_cache:
        key = {
            "model": model_fingerprint(model),
            "start_token_id": start_id,
            "end_ids": end_ids,
            "num_samples": num_samples,
            "seed": seed,
            **config.sampling_key(),
        }
        path = cache_file(cache_dir, key)
        cached = read_samples(path, key)
        if cached is not None:
            return cached
    samples = generate_context_free(model, start_id, num_samples, config, seed=seed, end_ids=end_ids)
    if use_cache:
        write_samples(path, key, samples)
    return samples


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]
