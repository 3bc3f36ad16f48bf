"""The decoder layers of a Llama-family model, run with as few tensor operations as possible.

A one-position decoding step of a small model spends most of its time on per-operation
overhead, not arithmetic: a transformers decoder layer adds module calls, cache bookkeeping and
mask building to that. This module computes the same function from the same weights (q/k/v and
gate/up projections fused into one matrix product each, rotary tables computed once, one
preallocated key/value buffer per layer, so pruning a suffix costs nothing) and hands the
result back as a transformers ``DynamicCache`` when decoding ends.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers import DynamicCache

# Rotary variants whose tables depend on the sequence length cannot be computed once up front.
LENGTH_DEPENDENT_ROPE = ("dynamic", "longrope")


@dataclass
class _LayerWeights:
    """One decoder layer's parameters, with the projections that share an input concatenated."""

    input_norm: torch.Tensor
    post_attention_norm: torch.Tensor
    qkv: torch.Tensor
    qkv_bias: torch.Tensor | None
    out: torch.Tensor
    out_bias: torch.Tensor | None
    gate_up: torch.Tensor
    gate_up_bias: torch.Tensor | None
    down: torch.Tensor
    down_bias: torch.Tensor | None


def _plain_linear(module: nn.Module, name: str) -> nn.Linear:
    if type(module) is not nn.Linear:
        raise ValueError(
            f"Early-exit decoding needs plain nn.Linear projections; {name} is {type(module).__name__} "
            "(merge adapters first, e.g. model.merge_and_unload(), and do not quantise the layers)."
        )
    return module


def _concatenate(modules: list[nn.Linear]) -> tuple[torch.Tensor, torch.Tensor | None]:
    weight = torch.cat([module.weight for module in modules])
    if all(module.bias is None for module in modules):
        return weight, None
    biases = [
        module.bias if module.bias is not None else module.weight.new_zeros(module.out_features) for module in modules
    ]
    return weight, torch.cat(biases)


def _layer_weights(layer: nn.Module, index: int) -> _LayerWeights:
    attention, mlp = layer.self_attn, layer.mlp
    names = ("q_proj", "k_proj", "v_proj", "o_proj")
    q, k, v, o = (_plain_linear(getattr(attention, name), f"layers[{index}].self_attn.{name}") for name in names)
    gate, up, down = (
        _plain_linear(getattr(mlp, name), f"layers[{index}].mlp.{name}")
        for name in ("gate_proj", "up_proj", "down_proj")
    )
    qkv, qkv_bias = _concatenate([q, k, v])
    gate_up, gate_up_bias = _concatenate([gate, up])
    return _LayerWeights(
        input_norm=layer.input_layernorm.weight,
        post_attention_norm=layer.post_attention_layernorm.weight,
        qkv=qkv,
        qkv_bias=qkv_bias,
        out=o.weight,
        out_bias=o.bias,
        gate_up=gate_up,
        gate_up_bias=gate_up_bias,
        down=down.weight,
        down_bias=down.bias,
    )


def _weights_signature(model: nn.Module) -> tuple:
    """Changes whenever a parameter is replaced or updated in place (optimizer steps bump ``_version``)."""
    return tuple((p.data_ptr(), p._version, p.dtype, p.device) for p in model.model.layers.parameters())


def fused_weights(model: nn.Module) -> list[_LayerWeights]:
    """Fused weights, built once per model and rebuilt only when its parameters change."""
    signature = _weights_signature(model)
    cached = getattr(model, "_hfplug_fused_layers", None)
    if cached is None or cached[0] != signature:
        with torch.no_grad():
            layers = [_layer_weights(layer, index) for index, layer in enumerate(model.model.layers)]
        cached = (signature, layers)
        model._hfplug_fused_layers = cached
    return cached[1]


def rms_norm(hidden: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """LlamaRMSNorm's function with fewer operations."""
    if hidden.dtype == torch.float32:
        # One fused op, bit-identical to LlamaRMSNorm in float32 (tested).
        return F.rms_norm(hidden, (hidden.shape[-1],), weight, eps)
    # Other dtypes: LlamaRMSNorm's own order, normalising in float32 and scaling after casting back.
    upcast = hidden.float()
    normalised = upcast * torch.rsqrt(upcast.pow(2).mean(-1, keepdim=True) + eps)
    return weight * normalised.to(hidden.dtype)


class LayerRunner:
    """A model's decoder layers as fused weights with one key/value buffer per layer for ``capacity``
    positions of ``batch_size`` rows; a subclass says where a pass writes its keys and values and which
    part of the buffers it attends to (``_store``)."""

    def __init__(self, model: nn.Module, capacity: int, batch_size: int) -> None:
        config = model.config
        rope_type = (getattr(config, "rope_parameters", None) or {}).get("rope_type", "default")
        if rope_type in LENGTH_DEPENDENT_ROPE:
            raise ValueError(
                f"Early-exit decoding does not support rope_type={rope_type!r} (its tables change with length)."
            )
        self.model = model
        self.weights = fused_weights(model)
        first = model.model.layers[0]
        self.num_heads = config.num_attention_heads
        self.num_kv_heads = config.num_key_value_heads
        self.head_dim = first.self_attn.head_dim
        self.scaling = first.self_attn.scaling
        self.activation = first.mlp.act_fn
        self.eps = first.input_layernorm.variance_epsilon
        parameter = first.self_attn.q_proj.weight
        self.dtype, self.device = parameter.dtype, parameter.device
        # One buffer per layer for every position decoding can reach, allocated once.
        self.capacity = capacity
        self.batch_size = batch_size
        shape = (batch_size, self.num_kv_heads, capacity, self.head_dim)
        self.keys = [torch.zeros(shape, dtype=self.dtype, device=self.device) for _ in self.weights]
        self.values = [torch.zeros(shape, dtype=self.dtype, device=self.device) for _ in self.weights]
        positions = torch.arange(capacity, device=self.device)[None]
        anchor = torch.empty(1, dtype=self.dtype, device=self.device)
        cos, sin = model.model.rotary_emb(anchor, positions)
        self.cos, self.sin = cos[0], sin[0]

    def _norm(self, hidden: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return rms_norm(hidden, weight, self.eps)

    def _store(
        self, index: int, keys: torch.Tensor, values: torch.Tensor, where: object
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Write layer ``index``'s new keys and values at ``where``; return the keys and values to attend to."""
        raise NotImplementedError

    def _layers(
        self,
        hidden: torch.Tensor,
        low: int,
        high: int,
        cos: torch.Tensor,
        sin: torch.Tensor,
        mask: torch.Tensor | None,
        where: object,
    ) -> torch.Tensor:
        """Layers ``low..high-1`` over ``hidden`` (batch x n x hidden) with rotary tables and mask for its positions."""
        batch, count = hidden.shape[:2]
        heads, kv_heads, head_dim = self.num_heads, self.num_kv_heads, self.head_dim
        rotated = heads + kv_heads
        half = head_dim // 2
        for index in range(low, high):
            weights = self.weights[index]
            qkv = F.linear(self._norm(hidden, weights.input_norm), weights.qkv, weights.qkv_bias)
            qkv = qkv.view(batch, count, rotated + kv_heads, head_dim).transpose(1, 2)
            query_key, value = qkv[:, :rotated], qkv[:, rotated:]
            # Rotary embedding of queries and keys together (rotate_half convention).
            turned = torch.cat((-query_key[..., half:], query_key[..., :half]), dim=-1)
            query_key = query_key * cos + turned * sin
            keys, values = self._store(index, query_key[:, heads:], value, where)
            attended = F.scaled_dot_product_attention(
                query_key[:, :heads],
                keys,
                values,
                attn_mask=mask,
                scale=self.scaling,
                enable_gqa=kv_heads != heads,
            )
            attended = attended.transpose(1, 2).reshape(batch, count, heads * head_dim)
            hidden = hidden + F.linear(attended, weights.out, weights.out_bias)
            gate, up = F.linear(
                self._norm(hidden, weights.post_attention_norm), weights.gate_up, weights.gate_up_bias
            ).chunk(2, dim=-1)
            hidden = hidden + F.linear(self.activation(gate) * up, weights.down, weights.down_bias)
        return hidden

    def to_dynamic_cache(self, length: int) -> DynamicCache:
        """The first ``length`` positions of every layer as a transformers cache (what generate returns)."""
        cache = DynamicCache(config=self.model.config)
        for index in range(len(self.weights)):
            cache.update(self.keys[index][:, :, :length].clone(), self.values[index][:, :, :length].clone(), index)
        return cache


class DecoderLayers(LayerRunner):
    """Runs any contiguous range of a model's decoder layers over new positions, keeping their KV."""

    def __init__(self, model: nn.Module, capacity: int, padding: list[int] | None = None) -> None:
        """KV buffers for ``capacity`` positions of ``len(padding)`` rows (default one row).

        ``padding[b]`` is how many columns row b's prompt is left-padded with: those columns are
        never attended to, and row b's rotary positions start after them.
        """
        padding = list(padding or [0])
        super().__init__(model, capacity, len(padding))
        # None when no row is padded: the common case keeps the cheapest masks and rotary slices.
        self.padding = torch.tensor(padding, device=self.device) if any(padding) else None

    def _positions(self, start: int, end: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Rotary tables and attention mask for queries at columns ``start..end-1`` over keys ``0..end-1``."""
        device = self.cos.device
        if self.padding is None:
            mask = None  # one query sees every key before it: no mask needed
            if end - start > 1:
                mask = torch.arange(end, device=device) <= torch.arange(start, end, device=device)[:, None]
            return self.cos[start:end], self.sin[start:end], mask
        columns = torch.arange(start, end, device=device)
        keys = torch.arange(end, device=device)
        positions = (columns[None] - self.padding[:, None]).clamp(min=0)  # batch x n
        # Keys in a row's padding are hidden; a padding column still sees itself, so that no query
        # row is fully masked (that would make NaNs, and NaN values poison even masked-out sums).
        visible = (keys >= self.padding[:, None, None]) | (keys == columns[:, None])
        mask = (keys <= columns[:, None]) & visible  # batch x n x end
        return self.cos[positions][:, None], self.sin[positions][:, None], mask[:, None]

    def _store(
        self, index: int, keys: torch.Tensor, values: torch.Tensor, where: object
    ) -> tuple[torch.Tensor, torch.Tensor]:
        start, end = where
        self.keys[index][:, :, start:end] = keys
        self.values[index][:, :, start:end] = values
        return self.keys[index][:, :, :end], self.values[index][:, :, :end]

    def run(self, hidden: torch.Tensor, start: int, low: int, high: int) -> torch.Tensor:
        """Layers ``low..high-1`` over ``hidden`` (batch x n x hidden), the columns ``start..start+n-1``.

        Their keys and values are written into the cache at those positions; whatever the cache
        held at or after ``start`` for these layers is overwritten, which is what pruning relies on.
        """
        end = start + hidden.shape[1]
        if end > self.capacity:
            raise RuntimeError(f"internal: position {end - 1} is past the KV buffers' capacity {self.capacity}")
        cos, sin, mask = self._positions(start, end)
        return self._layers(hidden, low, high, cos, sin, mask, (start, end))
