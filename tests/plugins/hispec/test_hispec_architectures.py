"""Beyond Llama: a tiny Qwen2 (biased q/k/v projections, grouped KV heads) decodes losslessly;
with sliding-window attention it is refused by name."""

from __future__ import annotations

import pytest
import torch
from transformers import Qwen2Config, Qwen2ForCausalLM


def tiny_qwen2(device, **overrides) -> Qwen2ForCausalLM:
    config = Qwen2Config(
        vocab_size=400,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=6,
        num_attention_heads=4,
        num_key_value_heads=2,
        tie_word_embeddings=True,
        **overrides,
    )
    torch.manual_seed(1)
    return Qwen2ForCausalLM(config).to(device, torch.float64).eval()


def test_qwen2_greedy_is_lossless(greedy_hispec, prompt, device):
    model = tiny_qwen2(device, use_sliding_window=False)
    expected = model.generate(prompt, do_sample=False, max_new_tokens=20, eos_token_id=None, pad_token_id=0)
    output = greedy_hispec(model, prompt, max_new_tokens=20, eos_token_id=None, draft_layer=1, verify_layer=3)
    assert torch.equal(output.sequences, expected)


def test_sliding_window_qwen2_is_refused(greedy_hispec, prompt, device):
    model = tiny_qwen2(device, use_sliding_window=True, sliding_window=8, max_window_layers=0)
    with pytest.raises(ValueError, match="sliding-window attention"):
        greedy_hispec(model, prompt, max_new_tokens=4, draft_layer=1, verify_layer=2)
