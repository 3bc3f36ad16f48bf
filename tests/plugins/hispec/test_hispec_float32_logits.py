"""``float32_logits=True``: a bfloat16 model's tokens are chosen (and drafts verified) by float32
logits; a float32 or float64 model decodes exactly as before."""

from __future__ import annotations

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

HIDDEN = 32
A, B = 3, 5  # two tokens whose logits tie in bfloat16 and differ in float32


def tied_bfloat16_model(device: torch.device) -> LlamaForCausalLM:
    """A bfloat16 Llama whose every hidden state, at every layer and position, is the ones vector:
    every token embeds to ones and no layer adds anything (zero output projections). Through the
    final norm that is (almost exactly) ones again, so token A's logit is 1 and token B's is
    1 + 2^-10 (its head row sums to that); every other token's logit is 0. In bfloat16, whose
    spacing above 1 is 2^-7, both logits round to 1: a tie that argmax gives to A, the lower id.
    In float32, B wins."""
    config = LlamaConfig(
        vocab_size=8,
        hidden_size=HIDDEN,
        intermediate_size=48,
        num_hidden_layers=6,
        num_attention_heads=4,
        num_key_value_heads=4,
        tie_word_embeddings=False,
        bos_token_id=None,
        eos_token_id=None,
        pad_token_id=None,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    with torch.no_grad():
        model.model.embed_tokens.weight.fill_(1.0)
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        head = model.lm_head.weight
        head.zero_()
        head[A] = 1.0 / HIDDEN
        head[B] = 1.0 / HIDDEN
        head[B, -1] += 2.0**-10  # 2^-5 + 2^-10: exact in bfloat16
    return model.to(device, torch.bfloat16).eval()


@pytest.fixture(scope="module")
def tied_model(device):
    return tied_bfloat16_model(device)


STRATEGIES = [
    ("greedy", {}),
    ("self_spec", {"draft_layer": 2, "draft_length": 3}),
    ("hispec", {"draft_layer": 1, "verify_layer": 3, "draft_length": 2, "verify_window": 4}),
]


@pytest.mark.parametrize("name, settings", STRATEGIES)
def test_float32_logits_break_bfloat16_ties_by_value(name, settings, tied_model, strategy, device):
    prompt = torch.tensor([[1, 2, 6, 7]], device=device)
    new_tokens = 8
    plain = tied_model.generate(prompt, do_sample=False, max_new_tokens=new_tokens)
    assert plain[0, 4:].tolist() == [A] * new_tokens, "bfloat16 greedy must see the tie (the test's premise)"
    generate = strategy(name)
    kwargs = {"model": tied_model, "input_ids": prompt, "do_sample": False, "max_new_tokens": new_tokens}
    assert torch.equal(generate(**kwargs, **settings), plain)  # default: the model's own precision
    upcast = generate(**kwargs, **settings, float32_logits=True)
    assert upcast[0, 4:].tolist() == [B] * new_tokens


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name, settings", STRATEGIES)
def test_float32_logits_change_nothing_in_float32_or_wider(name, settings, dtype, make_deep_model, strategy, device):
    model = make_deep_model(agreeing=False, dtype=dtype, device=device)
    prompt = torch.tensor([[5, 9, 14, 3, 8]], device=device)
    expected = model.generate(prompt, do_sample=False, max_new_tokens=12)
    output = strategy(name)(
        model=model, input_ids=prompt, do_sample=False, max_new_tokens=12, float32_logits=True, **settings
    )
    assert torch.equal(output, expected)


def test_float32_logits_must_be_a_bool(disagreeing_model, strategy, prompt):
    with pytest.raises(ValueError, match="float32_logits must be True or False, got 'yes'"):
        strategy("hispec")(model=disagreeing_model, input_ids=prompt, max_new_tokens=2, float32_logits="yes")
