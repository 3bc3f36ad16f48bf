"""The lean layer runner computes what the transformers layers compute, in chunks at any offset,
from the model's current weights, and refuses projections it cannot fuse."""

from __future__ import annotations

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM
from transformers.models.llama.modeling_llama import LlamaRMSNorm


@pytest.fixture(scope="module")
def decoder_layers():
    # The strategy folder is plain files (transformers loads it by path); inside the installed
    # package it is still importable as a namespace module.
    from hfplug_hispec.strategies.hispec.custom_generate import decoder_layers

    return decoder_layers


def _tiny(config_class, model_class, device="cpu", **overrides):
    settings = dict(
        vocab_size=64,
        hidden_size=32,
        intermediate_size=48,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,  # grouped-query attention
        max_position_embeddings=64,
    )
    settings.update(overrides)
    torch.manual_seed(0)
    return model_class(config_class(**settings)).to(device).eval()


def _llama(device="cpu", **overrides) -> LlamaForCausalLM:
    return _tiny(LlamaConfig, LlamaForCausalLM, device, **overrides)


def _qwen2(device="cpu") -> Qwen2ForCausalLM:
    return _tiny(Qwen2Config, Qwen2ForCausalLM, device)  # q/k/v projections carry biases


def _reference(model, tokens: torch.Tensor) -> torch.Tensor:
    """The last decoder layer's output (before the final norm), from transformers."""
    captured = {}
    handle = model.model.layers[-1].register_forward_hook(lambda _m, _a, output: captured.setdefault("h", output))
    with torch.no_grad():
        model(tokens)
    handle.remove()
    output = captured["h"]
    return output[0] if isinstance(output, tuple) else output


@pytest.mark.parametrize("make_model", [_llama, _qwen2], ids=["llama-gqa", "qwen2-bias"])
@pytest.mark.parametrize("chunks", [[10], [7, 1, 1, 1], [3, 4, 3]])
def test_chunked_runs_equal_the_transformers_forward(decoder_layers, make_model, chunks, device):
    model = make_model(device)
    tokens = torch.randint(0, 64, (1, sum(chunks)), device=device)
    runner = decoder_layers.DecoderLayers(model, capacity=16)
    outputs, start = [], 0
    with torch.inference_mode():
        for count in chunks:
            hidden = model.model.embed_tokens(tokens[:, start : start + count])
            # Two ranges per chunk, as a draft range and its verifier would run them.
            hidden = runner.run(hidden, start, 0, 1)
            outputs.append(runner.run(hidden, start, 1, 4))
            start += count
    torch.testing.assert_close(torch.cat(outputs, dim=1), _reference(model, tokens), rtol=1e-5, atol=1e-5)


def test_rerunning_positions_overwrites_them(decoder_layers, device, cache_of):
    """Pruning is only a length: positions run again must replace, not append to, the old KV."""
    model = _llama(device)
    tokens = torch.randint(0, 64, (1, 8), device=device)
    wrong = torch.randint(0, 64, (1, 3), device=device)
    runner = decoder_layers.DecoderLayers(model, capacity=16)
    with torch.inference_mode():
        runner.run(model.model.embed_tokens(tokens[:, :5]), 0, 0, 4)
        runner.run(model.model.embed_tokens(wrong), 5, 0, 4)  # rejected candidates
        last = runner.run(model.model.embed_tokens(tokens[:, 5:]), 5, 0, 4)
        cache = runner.to_dynamic_cache(8)
    torch.testing.assert_close(last, _reference(model, tokens)[:, 5:], rtol=1e-5, atol=1e-5)
    with torch.no_grad():
        fresh = cache_of(model(tokens, use_cache=True))
    for ours, reference in zip(cache.layers, fresh.layers, strict=True):
        torch.testing.assert_close(ours.keys, reference.keys, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(ours.values, reference.values, rtol=1e-5, atol=1e-5)


def test_weights_changed_in_place_are_picked_up(decoder_layers, device):
    model = _llama(device)
    tokens = torch.randint(0, 64, (1, 6), device=device)
    with torch.inference_mode():
        decoder_layers.DecoderLayers(model, capacity=8).run(model.model.embed_tokens(tokens), 0, 0, 4)
    with torch.no_grad():
        model.model.layers[2].self_attn.k_proj.weight.mul_(3.0)
        model.model.layers[1].mlp.up_proj.weight.add_(0.1)
    with torch.inference_mode():
        after = decoder_layers.DecoderLayers(model, capacity=8).run(model.model.embed_tokens(tokens), 0, 0, 4)
    torch.testing.assert_close(after, _reference(model, tokens), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_norm_is_bit_identical_to_llamas(decoder_layers, dtype, device):
    model = _llama(device).to(dtype)
    norm = model.model.layers[0].input_layernorm
    with torch.no_grad():
        norm.weight.normal_()
        hidden = torch.randn(2, 5, 32, dtype=dtype, device=device) * 3
        ours = decoder_layers.DecoderLayers(model, capacity=8)._norm(hidden, norm.weight)
        assert isinstance(norm, LlamaRMSNorm) and torch.equal(ours, norm(hidden))


def test_a_wrapped_projection_is_refused_by_name(decoder_layers, device):
    class Adapted(torch.nn.Linear):
        pass

    model = _llama(device)
    original = model.model.layers[1].mlp.gate_proj
    wrapped = Adapted(original.in_features, original.out_features, bias=False)
    model.model.layers[1].mlp.gate_proj = wrapped
    with pytest.raises(ValueError, match=r"layers\[1\]\.mlp\.gate_proj is Adapted .*merge_and_unload"):
        decoder_layers.DecoderLayers(model, capacity=8)


def test_length_dependent_rope_is_refused(decoder_layers, device):
    model = _llama(device, rope_parameters={"rope_type": "dynamic", "factor": 2.0, "rope_theta": 10000.0})
    with pytest.raises(ValueError, match="rope_type='dynamic'"):
        decoder_layers.DecoderLayers(model, capacity=8)
