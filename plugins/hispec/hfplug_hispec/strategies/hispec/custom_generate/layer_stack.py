"""A decoder cut at exit layers into consecutive depth ranges that share one KV cache.

Each range remembers how many positions it has in the cache, so a shallow range can run ahead
of a deeper one (drafting) and a deeper range later catches up from the hidden states the
shallower range saved, without recomputing them. Pruning lowers every range's length; the
next run of a range overwrites the key/value buffers from there.
"""

from __future__ import annotations

import torch
from transformers import DynamicCache

from .decoder_layers import DecoderLayers
from .exit_head import ExitHead

SUPPORTED_MODEL_TYPES = ("llama", "qwen2")


def check_supported(model: torch.nn.Module) -> None:
    """Raise a ValueError naming the limit when the model cannot be split into exit ranges here."""
    config = model.config
    model_type = getattr(config, "model_type", None)
    if model_type not in SUPPORTED_MODEL_TYPES:
        raise ValueError(
            f"Early-exit decoding supports the architectures {', '.join(SUPPORTED_MODEL_TYPES)} "
            f"(Llama, SmolLM, Qwen2); got model_type={model_type!r}."
        )
    if getattr(config, "use_sliding_window", False):
        raise ValueError("Early-exit decoding does not support sliding-window attention (use_sliding_window=True).")


class LayerStack:
    """The model's decoder layers split at ``exits`` (the last exit is the number of layers)."""

    def __init__(
        self,
        model: torch.nn.Module,
        exits: list[int],
        capacity: int,
        padding: list[int] | None = None,
        float32_logits: bool = False,
    ) -> None:
        self.model = model
        self.exits = list(exits)
        self.ranges = [(0 if k == 0 else exits[k - 1], exits[k]) for k in range(len(exits))]
        self.layers = DecoderLayers(model, capacity, padding)
        self.head = ExitHead(model, float32=float32_logits)
        self.lengths = [0] * len(exits)
        # pending[k]: outputs of range k at positions [lengths[k + 1], lengths[k]), waiting for range k + 1.
        self.pending: list[torch.Tensor | None] = [None] * len(exits)
        self.passes = [0] * len(exits)
        self.positions_run = [0] * len(exits)

    @property
    def top(self) -> int:
        return len(self.exits) - 1

    def head_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Next-token logits from any layer's hidden states: shared final norm + LM head (LayerSkip)."""
        return self.head.logits(hidden)

    def advance(self, level: int, tokens: list[list[int]]) -> torch.Tensor:
        """Run ranges 0..level until each has every column of ``tokens`` (rows of equal length) in the cache.

        Returns the outputs of range ``level`` (batch x new columns x hidden) for the columns it has just computed.
        """
        hidden = None
        for k in range(level + 1):
            hidden = self._run(k, tokens)
        assert hidden is not None
        return hidden

    def _run(self, k: int, tokens: list[list[int]]) -> torch.Tensor:
        start, end = self.lengths[k], len(tokens[0])
        device = self.model.lm_head.weight.device
        if end == start:
            return torch.empty(len(tokens), 0, self.model.config.hidden_size, device=device)
        if k == 0:
            hidden = self.model.model.embed_tokens(torch.tensor([row[start:end] for row in tokens], device=device))
        else:
            hidden = self.pending[k - 1]
            if hidden is None or hidden.shape[1] != end - start:
                raise RuntimeError(f"internal: range {k} has no saved states for positions {start}..{end - 1}")
            self.pending[k - 1] = None
        low, high = self.ranges[k]
        hidden = self.layers.run(hidden, start, low, high)
        self.lengths[k] = end
        self.passes[k] += 1
        self.positions_run[k] += end - start
        if k < self.top:
            previous = self.pending[k]
            self.pending[k] = hidden if previous is None else torch.cat([previous, hidden], dim=1)
        return hidden

    def prune(self, length: int) -> None:
        """Forget every cached position >= ``length`` in every range (KV and saved hidden states).

        The KV buffers need no cropping: a range's next run overwrites them from its own length on.
        """
        old = list(self.lengths)
        for k in range(len(self.ranges)):
            self.lengths[k] = min(old[k], length)
            if k < self.top and self.pending[k] is not None:
                keep = min(old[k], length) - min(old[k + 1], length)
                self.pending[k] = self.pending[k][:, :keep]

    def cache(self) -> DynamicCache:
        """Every layer's keys and values for the positions all ranges hold, as a transformers cache."""
        return self.layers.to_dynamic_cache(min(self.lengths))
