"""A tiny masked diffusion LM of our own, so everything runs offline: a bidirectional ModernBERT-style
transformer (rotary positions, pre-norm, GeGLU) trained from scratch with the LLaDA objective.

It is an ordinary ``ModernBertForMaskedLM`` with a ``mask_token_id`` in its config, plus transformers'
``GenerationMixin`` so that ``model.generate(custom_generate=...)`` works; ``AutoModelForMaskedLM``
loads the saved folder too (then call the strategy through ``diffusion_generate``).

The objective (LLaDA, arXiv:2502.09992): draw t ~ U(0, 1] per sequence, mask each token with
probability t, and minimise the cross-entropy on the masked tokens divided by t (an upper bound on the
negative log-likelihood).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from transformers import GenerationMixin, ModernBertConfig, ModernBertForMaskedLM, PreTrainedTokenizerFast

SPECIAL_TOKENS = ("<pad>", "<eos>", "<mask>")


class TinyMaskedDiffusionLM(ModernBertForMaskedLM, GenerationMixin):
    """``ModernBertForMaskedLM`` that can ``generate(custom_generate=...)``."""


def train_tokenizer(texts: Sequence[str], vocab_size: int = 1024) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer trained on ``texts``, with pad, eos and mask tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(list(texts), trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="<pad>", eos_token="<eos>", mask_token="<mask>")


def new_tiny_diffusion_lm(
    tokenizer: Any,
    *,
    hidden_size: int = 128,
    num_hidden_layers: int = 4,
    num_attention_heads: int = 4,
    intermediate_size: int | None = None,
    max_position_embeddings: int = 512,
    seed: int = 0,
) -> TinyMaskedDiffusionLM:
    """A randomly initialised bidirectional transformer sized for ``tokenizer``; every layer attends globally."""
    config = ModernBertConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=intermediate_size or 2 * hidden_size,
        num_hidden_layers=num_hidden_layers,
        num_attention_heads=num_attention_heads,
        max_position_embeddings=max_position_embeddings,
        layer_types=["full_attention"] * num_hidden_layers,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
        cls_token_id=None,
        sep_token_id=None,
        attn_implementation="sdpa",
    )
    config.mask_token_id = tokenizer.mask_token_id
    torch.manual_seed(seed)
    model = TinyMaskedDiffusionLM(config)
    model.generation_config.mask_token_id = tokenizer.mask_token_id
    return model


def masked_diffusion_loss(
    model: Any, input_ids: torch.Tensor, mask_token_id: int, *, min_mask_rate: float = 1e-3
) -> torch.Tensor:
    """The LLaDA pre-training loss of one batch ``(B, L)`` of clean token ids."""
    batch, length = input_ids.shape
    rate = torch.rand(batch, 1, device=input_ids.device) * (1 - min_mask_rate) + min_mask_rate
    masked = torch.rand(batch, length, device=input_ids.device) < rate
    noisy = torch.where(masked, torch.full_like(input_ids, mask_token_id), input_ids)
    logits = model(input_ids=noisy).logits.float()
    token_loss = torch.nn.functional.cross_entropy(logits.transpose(1, 2), input_ids, reduction="none")
    return (token_loss * masked / rate).sum() / (batch * length)


def token_windows(token_ids: Sequence[int], length: int, batch: int, seed: int = 0) -> Iterator[torch.Tensor]:
    """Endless batches ``(batch, length)`` of random windows of one long token stream."""
    stream = torch.tensor(token_ids, dtype=torch.long)
    if len(stream) <= length:
        raise ValueError(f"The training text has {len(stream)} tokens; windows need more than {length}.")
    generator = torch.Generator().manual_seed(seed)
    while True:
        starts = torch.randint(0, len(stream) - length, (batch,), generator=generator)
        yield torch.stack([stream[start : start + length] for start in starts.tolist()])


def train_tiny_diffusion_lm(
    model: Any,
    batches: Iterator[torch.Tensor],
    *,
    steps: int,
    learning_rate: float = 2e-3,
    warmup_steps: int = 100,
    time_budget_s: float | None = None,
    log_every: int = 100,
    on_log: Callable[[int, float], None] | None = None,
) -> list[tuple[int, float]]:
    """Train with AdamW, linear warm-up and cosine decay; returns ``(step, mean loss)`` per log interval."""
    mask_token_id = model.config.mask_token_id
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.01, betas=(0.9, 0.98))

    def rate(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        return 0.5 * (1 + math.cos(math.pi * (step - warmup_steps) / max(1, steps - warmup_steps)))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, rate)
    model.train()
    history, running, started = [], [], time.monotonic()
    for step in range(steps):
        loss = masked_diffusion_loss(model, next(batches), mask_token_id)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        running.append(float(loss.detach()))
        if (step + 1) % log_every == 0:
            history.append((step + 1, sum(running) / len(running)))
            running = []
            if on_log is not None:
                on_log(*history[-1])
        if time_budget_s is not None and time.monotonic() - started > time_budget_s:
            break
    model.eval()
    return history
