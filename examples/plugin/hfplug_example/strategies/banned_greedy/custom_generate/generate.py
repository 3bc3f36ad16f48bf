"""Greedy decoding that never emits the tokens in ``banned_token_ids``: a minimal transformers
``custom_generate`` strategy to copy.

    model.generate(input_ids, custom_generate="path/or/hub-repo", trust_remote_code=True,
                   banned_token_ids=[13, 42], max_new_tokens=20)

This file runs where only torch and transformers are installed (a Hub user's machine): it imports
nothing from hfplug or from the plugin that ships it.
"""

from __future__ import annotations

import copy
from typing import Any

import torch

# What model.generate(custom_generate=REPO, revision=SHA, ...) used to fetch this folder from the Hub;
# transformers passes them on to generate() too, where they mean nothing.
HUB_LOADING_ARGUMENTS = ("revision", "token", "cache_dir", "force_download", "proxies", "local_files_only", "repo_type")


def generate(
    model: Any,
    inputs: torch.Tensor | None = None,
    generation_config: Any = None,
    banned_token_ids: list[int] | tuple[int, ...] = (),
    **kwargs: Any,
) -> torch.LongTensor:
    """Return the prompt followed by up to ``max_new_tokens`` greedy tokens, none of them banned.

    transformers calls this with ``model``, every parameter of ``model.generate`` (``inputs``,
    ``generation_config``, ``logits_processor``, ... most of them None) and every keyword the caller
    gave. ``hfplug generate`` passes the prompt as ``input_ids=`` with an ``attention_mask``.
    Rows that reach an EOS token are filled with the pad token, as transformers does.
    """
    for name in HUB_LOADING_ARGUMENTS:
        kwargs.pop(name, None)
    prompt = kwargs.pop("input_ids", None)
    prompt = inputs if prompt is None else prompt
    attention_mask = kwargs.pop("attention_mask", None)
    config = copy.deepcopy(generation_config or model.generation_config)
    config.update(**{name: kwargs.pop(name) for name in list(kwargs) if hasattr(config, name)})
    unsupported = sorted(name for name, value in kwargs.items() if value is not None)
    if unsupported:  # an argument we would silently ignore is an error
        raise ValueError(f"banned_greedy does not support: {', '.join(unsupported)}.")
    if config.do_sample or (config.num_beams or 1) > 1:
        raise ValueError("banned_greedy is greedy decoding: do_sample must be False and num_beams 1.")
    if prompt is None or prompt.dim() != 2:
        raise ValueError("Pass the prompt as a LongTensor of shape (batch, length).")
    steps = config.max_new_tokens if config.max_new_tokens is not None else config.max_length - prompt.shape[1]
    eos = config.eos_token_id
    eos = torch.tensor([eos] if isinstance(eos, int) else list(eos or []), device=prompt.device)
    pad = config.pad_token_id if config.pad_token_id is not None else (int(eos[0]) if len(eos) else 0)
    banned = torch.tensor(list(banned_token_ids), dtype=torch.long, device=prompt.device)

    sequences, running = prompt, torch.ones(prompt.shape[0], dtype=torch.bool, device=prompt.device)
    with torch.no_grad():
        for _ in range(max(steps, 0)):
            # The whole sequence each step keeps the example short; a real strategy reuses the KV cache.
            logits = model(input_ids=sequences, attention_mask=attention_mask).logits[:, -1, :].float()
            logits[:, banned] = float("-inf")
            chosen = torch.where(running, logits.argmax(dim=-1), torch.full_like(running, pad, dtype=torch.long))
            sequences = torch.cat([sequences, chosen[:, None]], dim=1)
            if attention_mask is not None:
                attention_mask = torch.cat([attention_mask, attention_mask.new_ones((prompt.shape[0], 1))], dim=1)
            running &= ~torch.isin(chosen, eos)
            if not running.any():
                break
    return sequences
