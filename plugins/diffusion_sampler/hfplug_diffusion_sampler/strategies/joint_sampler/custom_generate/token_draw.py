"""Turning logits into tokens: greedy or sampling with temperature, top-k and top-p.

Every distribution of a step (the base marginal, the sampler's q, an exact teacher pass) goes through
the same warping, so K = 1 and the first token of each step are sampled exactly as base sampling.
"""

from __future__ import annotations

import torch
from transformers import LogitsProcessorList
from transformers.generation import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper


class TokenDraw:
    """Warp logits like transformers' sampling does, then draw (or take the argmax when not sampling)."""

    def __init__(self, do_sample: bool, temperature: float | None, top_k: int | None, top_p: float | None) -> None:
        self.do_sample = bool(do_sample)
        self.warpers = LogitsProcessorList()
        if self.do_sample:
            if temperature is not None and temperature != 1.0:
                self.warpers.append(TemperatureLogitsWarper(temperature))
            if top_k:
                self.warpers.append(TopKLogitsWarper(top_k))
            if top_p is not None and top_p < 1.0:
                self.warpers.append(TopPLogitsWarper(top_p))

    def warp(self, logits: torch.Tensor) -> torch.Tensor:
        """Warped float logits, any leading shape, vocabulary last."""
        flat = logits.reshape(-1, logits.shape[-1]).float()
        return self.warpers(None, flat).reshape(logits.shape) if len(self.warpers) else flat.reshape(logits.shape)

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """The distribution a token is drawn from."""
        return torch.softmax(self.warp(logits), dim=-1)

    def draw(self, logits: torch.Tensor) -> torch.Tensor:
        """One token per row of ``logits`` ``(N, V)``."""
        if not self.do_sample:
            return logits.argmax(dim=-1)
        return torch.multinomial(self.probabilities(logits), num_samples=1)[:, 0]
