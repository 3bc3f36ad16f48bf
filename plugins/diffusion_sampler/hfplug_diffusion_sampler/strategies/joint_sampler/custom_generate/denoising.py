"""The denoising loop of a masked diffusion LM with K tokens per step, in three modes.

Each step runs one full pass, fixes the order j_1..j_K of the K positions to unmask (``positions.py``)
and draws t_1 from the base marginal at j_1. The other K-1 tokens come from:

- ``exact``: one more full pass per token with t_<k revealed, i.e. the exact sequential joint p*;
- ``marginal``: the same first pass, each position independently (fast, ignores dependencies);
- ``joint``: the ADJUST sampler, one light pass per token given H and t_<k (arXiv:2509.22738).

Semi-autoregressive blocks (LLaDA): with ``block_length`` the generated region is filled block by block,
left to right; without it the whole region is one block (Dream).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from .masked_model import MaskedDiffusionModel
from .positions import step_order
from .sampler_layer import JointSampler, SamplerStep
from .token_draw import TokenDraw

MODES = ("exact", "marginal", "joint")


@dataclass
class DenoisingStats:
    """What a generation cost: steps, full passes of the base model, sampler passes, tokens per row."""

    steps: int = 0
    full_passes: int = 0
    sampler_passes: int = 0
    tokens: int = 0

    def as_dict(self) -> dict[str, float]:
        return {
            "steps": self.steps,
            "full_passes": self.full_passes,
            "sampler_passes": self.sampler_passes,
            "tokens": self.tokens,
            "tokens_per_full_pass": self.tokens / max(self.full_passes, 1),
        }


@dataclass
class StepRecord:
    """One step of an ``exact`` rollout, as the sampler trainer needs it: the state before the step, its
    hidden states, the positions in order, the tokens drawn there, the teacher logits of tokens 2..K, the
    first pass's (marginal) logits at the K positions and the attention mask (None: no padding)."""

    canvas: torch.Tensor
    hidden: torch.Tensor
    positions: torch.Tensor
    tokens: torch.Tensor
    teacher_logits: torch.Tensor
    first_logits: torch.Tensor
    key_mask: torch.Tensor | None


class Denoiser:
    """Fills the masked region of a canvas, K tokens per step, with one of the three modes."""

    def __init__(
        self,
        base: MaskedDiffusionModel,
        draw: TokenDraw,
        *,
        mode: str,
        tokens_per_step: int,
        position_choice: str = "confidence",
        block_length: int | None = None,
        sampler: JointSampler | None = None,
        record: Callable[[StepRecord], None] | None = None,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}.")
        if mode == "joint" and tokens_per_step > 1 and sampler is None:
            raise ValueError("joint_sampler with tokens_per_step > 1 needs sampler=... (a trained JointSampler).")
        if record is not None and mode != "exact":
            raise ValueError("Recording teacher targets needs the exact mode.")
        self.base, self.draw, self.mode = base, draw, mode
        self.tokens_per_step, self.position_choice, self.block_length = tokens_per_step, position_choice, block_length
        self.sampler, self.record = sampler, record
        self.stats = DenoisingStats()

    def run(self, canvas: torch.Tensor, attention_mask: torch.Tensor | None, start: int) -> torch.Tensor:
        """Unmask every mask token at columns ``>= start`` of ``canvas`` ``(B, L)``, in place; returns it."""
        region = canvas.shape[1] - start
        block = self.block_length or max(region, 1)
        key_mask = None if attention_mask is None else attention_mask.bool()
        columns = torch.arange(canvas.shape[1], device=canvas.device)
        for block_start in range(start, canvas.shape[1], block):
            in_block = (columns >= block_start) & (columns < block_start + block)
            while True:
                candidates = (canvas == self.base.mask_token_id) & in_block
                remaining = int(candidates[0].sum())
                if remaining == 0:
                    break
                if not bool((candidates.sum(dim=1) == remaining).all()):
                    raise ValueError("Rows of the batch have different numbers of masked positions to fill.")
                self._step(canvas, attention_mask, key_mask, candidates, min(self.tokens_per_step, remaining))
        self.stats.tokens += region
        return canvas

    def _step(
        self,
        canvas: torch.Tensor,
        attention_mask: torch.Tensor | None,
        key_mask: torch.Tensor | None,
        candidates: torch.Tensor,
        count: int,
    ) -> None:
        batch = canvas.shape[0]
        rows = torch.arange(batch, device=canvas.device)
        needs_hidden = (self.mode == "joint" and count > 1) or self.record is not None
        state = canvas.clone() if self.record is not None else None
        logits, hidden = self._full_pass(canvas, attention_mask, needs_hidden)
        self.stats.steps += 1
        columns = candidates.nonzero()[:, 1].view(batch, -1)
        candidate_logits = logits.gather(1, columns[..., None].expand(-1, -1, logits.shape[-1]))
        order = step_order(self.position_choice, self.draw.probabilities(candidate_logits), columns, count)

        sampler_step = None
        if self.mode == "joint" and count > 1:
            sampler_step = SamplerStep(self.sampler, hidden, key_mask)
        tokens, teacher = [], []
        for k in range(count):
            position = order[:, k]
            if k == 0 or self.mode == "marginal":
                step_logits = logits[rows, position]
            elif self.mode == "exact":
                step_logits = self._full_pass(canvas, attention_mask, False)[0][rows, position]
                teacher.append(step_logits)
            else:
                step_logits = self.base.logits_of(sampler_step.read(position))
                self.stats.sampler_passes += 1
            token = self.draw.draw(step_logits)
            canvas[rows, position] = token
            tokens.append(token)
            if sampler_step is not None and k < count - 1:
                sampler_step.reveal(position, self.base.embed(token))
        if self.record is not None:
            empty = logits.new_zeros(batch, 0, logits.shape[-1])
            self.record(
                StepRecord(
                    canvas=state,
                    hidden=hidden,
                    positions=order,
                    tokens=torch.stack(tokens, dim=1),
                    teacher_logits=torch.stack(teacher, dim=1) if teacher else empty,
                    first_logits=logits[rows[:, None], order],
                    key_mask=key_mask,
                )
            )

    def _full_pass(
        self, canvas: torch.Tensor, attention_mask: torch.Tensor | None, with_hidden: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        self.stats.full_passes += 1
        return self.base.full_pass(canvas, attention_mask, with_hidden)
