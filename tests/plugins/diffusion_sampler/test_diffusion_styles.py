"""Dream style (logits shifted right) and LLaDA style (semi-autoregressive blocks)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from torch import nn

SETTINGS = {"max_new_tokens": 8, "do_sample": True, "tokens_per_step": 2}


class DreamStyle(nn.Module):
    """The tiny model re-wired like Dream: its output at position i is the inner model's for i + 1."""

    def __init__(self, inner: nn.Module, model_type: str = "Dream") -> None:
        super().__init__()
        self.inner = inner
        self.config = SimpleNamespace(mask_token_id=inner.config.mask_token_id, model_type=model_type)

    def get_input_embeddings(self) -> nn.Module:
        return self.inner.get_input_embeddings()

    def get_output_embeddings(self) -> nn.Module:
        return self.inner.decoder

    def forward(self, input_ids, attention_mask=None):
        hidden = self.inner.head(self.inner.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state)
        ahead = torch.cat([hidden[:, 1:], hidden[:, -1:]], dim=1)
        return SimpleNamespace(logits=self.inner.decoder(ahead))


@pytest.mark.parametrize("name", ["exact", "marginal"])
def test_dream_style_model_generates_as_its_unshifted_twin(tiny_mdlm, strategies, prompt, name):
    torch.manual_seed(0)
    plain = strategies[name](model=tiny_mdlm, input_ids=prompt.repeat(4, 1), **SETTINGS)
    torch.manual_seed(0)
    dream = strategies[name](model=DreamStyle(tiny_mdlm), input_ids=prompt.repeat(4, 1), **SETTINGS)
    assert torch.equal(plain, dream)


def test_shift_is_detected_from_model_type_and_can_be_forced(tiny_mdlm, strategies, prompt):
    torch.manual_seed(0)
    plain = strategies["exact"](model=tiny_mdlm, input_ids=prompt, **SETTINGS)
    torch.manual_seed(0)
    forced = strategies["exact"](model=DreamStyle(tiny_mdlm, "other"), input_ids=prompt, shift_logits=True, **SETTINGS)
    torch.manual_seed(0)
    unshifted = strategies["exact"](model=DreamStyle(tiny_mdlm, "other"), input_ids=prompt, **SETTINGS)
    assert torch.equal(plain, forced)
    assert not torch.equal(plain, unshifted)


def test_blocks_fill_left_to_right(tiny_mdlm, strategies, prompt):
    """With block_length, no position of a later block is unmasked before the earlier block is full."""
    mask_id = tiny_mdlm.config.mask_token_id
    seen = []
    handle = tiny_mdlm.register_forward_pre_hook(
        lambda m, a, kw: seen.append(kw["input_ids"].clone()), with_kwargs=True
    )
    try:
        strategies["marginal"](model=tiny_mdlm, input_ids=prompt, max_new_tokens=9, tokens_per_step=2, block_length=3)
    finally:
        handle.remove()
    start = prompt.shape[1]
    filled_blocks = []
    for canvas in seen:
        filled = (canvas[0, start:] != mask_id).view(3, 3)
        started = filled.any(dim=1)
        full = filled.all(dim=1)
        for block in range(1, 3):
            assert not started[block] or bool(full[:block].all()), f"block {block} began early: {filled}"
        filled_blocks.append(int(full.sum()))
    assert len(seen) == 6  # steps of 2 + 1 tokens per block of 3
    assert filled_blocks == [0, 0, 1, 1, 2, 2]


def test_left_padded_batch_rows_match_single_rows(tiny_mdlm, strategies, mdlm_tokenizer):
    """Greedy decoding of a left-padded batch gives each row what it gets alone."""
    texts = ["The quick brown fox jumps", "Once"]
    mdlm_tokenizer.padding_side = "left"
    batch = mdlm_tokenizer(texts, return_tensors="pt", padding=True)
    together = strategies["marginal"](model=tiny_mdlm, **batch, max_new_tokens=6, tokens_per_step=2)
    for row, text in enumerate(texts):
        alone = strategies["marginal"](
            model=tiny_mdlm,
            input_ids=mdlm_tokenizer([text], return_tensors="pt").input_ids,
            max_new_tokens=6,
            tokens_per_step=2,
        )
        torch.testing.assert_close(together[row, -6:], alone[0, -6:])
