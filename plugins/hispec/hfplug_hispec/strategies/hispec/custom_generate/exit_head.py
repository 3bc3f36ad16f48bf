"""The shared exit head (final norm + LM head) that turns any layer's hidden states into logits.

By default it runs in the model's dtype, as the model's own forward does. With ``float32=True``
a model narrower than float32 (bfloat16, float16) runs it in float32 on float32 copies of the
norm and head weights: bfloat16 logits carry only 8 significant bits, so close candidates often
tie exactly and the argmax then hangs on rounding noise; float32 logits from the same hidden
states break those ties by value. Float32 and float64 models are left as they are. The copies
are made once per model and rebuilt when a weight changes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _signature(*tensors: torch.Tensor | None) -> tuple:
    return tuple(None if t is None else (t.data_ptr(), t._version, t.dtype, t.device) for t in tensors)


class ExitHead:
    """``logits(hidden)``: next-token logits (float32) from hidden states of any layer."""

    def __init__(self, model: nn.Module, float32: bool = False) -> None:
        self.model = model
        self.norm = model.model.norm
        self.head = model.lm_head
        # A float32 (or wider) model already computes its logits at least that precisely.
        self.upcast = float32 and self.head.weight.dtype.itemsize < 4
        if self.upcast:
            self.norm_weight, self.head_weight, self.head_bias = self._float32_weights()

    def _float32_weights(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        bias = getattr(self.head, "bias", None)
        signature = _signature(self.norm.weight, self.head.weight, bias)
        cached = getattr(self.model, "_hfplug_float32_head", None)
        if cached is None or cached[0] != signature:
            with torch.no_grad():
                weights = (
                    self.norm.weight.float(),
                    self.head.weight.float(),
                    None if bias is None else bias.float(),
                )
            cached = (signature, weights)
            self.model._hfplug_float32_head = cached
        return cached[1]

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Logits (float32) for hidden states (batch x positions x hidden)."""
        if not self.upcast:
            return self.head(self.norm(hidden)).float()
        upcast = hidden.float()
        normalised = F.rms_norm(upcast, (upcast.shape[-1],), self.norm_weight, self.norm.variance_epsilon)
        return F.linear(normalised, self.head_weight, self.head_bias)
