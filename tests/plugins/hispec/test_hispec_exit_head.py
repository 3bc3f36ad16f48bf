"""The shared exit head against a from-scratch computation: with ``float32=True`` a bfloat16 or
float16 model's logits are RMSNorm(h) * norm weight, then the LM head, all in float32 from the same
hidden states (the norm's weight and epsilon included); otherwise the model's own modules run."""

from __future__ import annotations

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

HIDDEN = 32
EPSILON = 1e-6


@pytest.fixture(scope="module")
def exit_head():
    from hfplug_hispec.strategies.hispec.custom_generate import exit_head

    return exit_head


def _model(dtype: torch.dtype, device: torch.device, bias: bool = False) -> LlamaForCausalLM:
    config = LlamaConfig(
        vocab_size=40,
        hidden_size=HIDDEN,
        intermediate_size=48,
        num_hidden_layers=2,
        num_attention_heads=4,
        rms_norm_eps=EPSILON,
        tie_word_embeddings=False,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    with torch.no_grad():  # a norm weight far from ones, so leaving it out (or applying it twice) shows
        model.model.norm.weight.copy_(torch.linspace(0.25, 3.0, HIDDEN))
    if bias:
        model.lm_head.bias = torch.nn.Parameter(torch.randn(config.vocab_size))
    return model.to(device, dtype).eval()


def _hidden(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Hidden states at very different scales; at 1e-3 the mean square (1e-6) is as large as epsilon,
    so the epsilon's value and place show in the result."""
    torch.manual_seed(1)
    scales = torch.tensor([1e-3, 0.05, 1.0, 40.0])[:, None, None]
    return (torch.randn(4, 3, HIDDEN) * scales).to(device, dtype)


@torch.no_grad()
def _reference_float32(model: LlamaForCausalLM, hidden: torch.Tensor) -> torch.Tensor:
    h = hidden.double()
    normalised = h / torch.sqrt(h.pow(2).mean(-1, keepdim=True) + EPSILON) * model.model.norm.weight.double()
    logits = normalised @ model.lm_head.weight.double().T
    if getattr(model.lm_head, "bias", None) is not None:
        logits = logits + model.lm_head.bias.double()
    return logits


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("bias", [False, True])
def test_float32_head_is_rms_norm_then_the_head_in_float32(dtype, bias, exit_head, device):
    model = _model(dtype, device, bias)
    hidden = _hidden(dtype, device)
    reference = _reference_float32(model, hidden)
    logits = exit_head.ExitHead(model, float32=True).logits(hidden)
    assert logits.dtype == torch.float32
    torch.testing.assert_close(logits.double(), reference, rtol=1e-5, atol=1e-5)
    # The model's own norm and head in its own precision are many times further off: the tolerance
    # above tells the float32 path from a half-precision one.
    with torch.no_grad():
        own = model.lm_head(model.model.norm(hidden)).double()
    assert (own - reference).abs().max() > 20 * (logits.double() - reference).abs().max()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_without_upcast_the_models_own_norm_and_head_run(dtype, exit_head, device):
    """float32=False at any dtype, and float32=True on a float32/float64 model: exactly the model's
    own modules (what its forward computes), returned as float32."""
    model = _model(dtype, device)
    hidden = _hidden(dtype, device)
    expected = model.lm_head(model.model.norm(hidden)).float()
    assert torch.equal(exit_head.ExitHead(model).logits(hidden), expected)
    if dtype != torch.bfloat16:
        assert torch.equal(exit_head.ExitHead(model, float32=True).logits(hidden), expected)
    # No float32 copy is made where it would change nothing, nor where it was not asked for.
    assert not hasattr(model, "_hfplug_float32_head")


def test_float32_copies_are_made_once_per_model(exit_head, device):
    model = _model(torch.bfloat16, device, bias=True)
    first, second = exit_head.ExitHead(model, float32=True), exit_head.ExitHead(model, float32=True)
    assert second.head_weight is first.head_weight and second.norm_weight is first.norm_weight
    assert second.head_bias is first.head_bias


@pytest.mark.parametrize("changed", ["norm weight", "head weight", "head bias"])
def test_float32_copies_follow_each_weight(changed, exit_head, device):
    """The copies are rebuilt when any one of the norm weight, head weight or head bias changes in place."""
    model = _model(torch.bfloat16, device, bias=True)
    hidden = _hidden(torch.bfloat16, device)
    exit_head.ExitHead(model, float32=True).logits(hidden)
    with torch.no_grad():
        {
            "norm weight": model.model.norm.weight,
            "head weight": model.lm_head.weight,
            "head bias": model.lm_head.bias,
        }[changed].mul_(-2.0)
    logits = exit_head.ExitHead(model, float32=True).logits(hidden)
    torch.testing.assert_close(logits.double(), _reference_float32(model, hidden), rtol=1e-5, atol=1e-5)


class _HeadWithoutBias(torch.nn.Module):
    """An LM head that is not an nn.Linear and has no ``bias`` attribute at all."""

    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(weight.detach().clone())

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.linear(hidden, self.weight)


def test_a_head_without_a_bias_attribute_works(exit_head, device):
    model = _model(torch.bfloat16, device)
    model.lm_head = _HeadWithoutBias(model.lm_head.weight)
    hidden = _hidden(torch.bfloat16, device)
    logits = exit_head.ExitHead(model, float32=True).logits(hidden)
    torch.testing.assert_close(logits.double(), _reference_float32(model, hidden), rtol=1e-5, atol=1e-5)
