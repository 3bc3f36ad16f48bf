"""Teacher rollouts: the model's own denoising trajectories, each step's K tokens drawn from the exact
sequential joint p* (one extra full pass per token with the earlier ones revealed), recorded as the
sampler's training targets."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..loop import Denoiser, MaskedDiffusionModel, StepRecord, TokenDraw


@dataclass(frozen=True)
class RolloutSettings:
    """How teacher trajectories are generated (the same knobs as generation)."""

    tokens_per_step: int = 4
    max_new_tokens: int = 64
    block_length: int | None = None
    position_choice: str = "confidence"
    temperature: float = 1.0
    top_p: float = 1.0


def teacher_rollout(
    base: MaskedDiffusionModel,
    prompts: torch.Tensor,
    attention_mask: torch.Tensor | None,
    settings: RolloutSettings,
) -> list[StepRecord]:
    """Denoise ``max_new_tokens`` masks after each prompt with exact K-token steps; one record per step."""
    records: list[StepRecord] = []
    draw = TokenDraw(True, settings.temperature, None, settings.top_p)
    denoiser = Denoiser(
        base,
        draw,
        mode="exact",
        tokens_per_step=settings.tokens_per_step,
        position_choice=settings.position_choice,
        block_length=settings.block_length,
        record=records.append,
    )
    masks = prompts.new_full((prompts.shape[0], settings.max_new_tokens), base.mask_token_id)
    canvas = torch.cat([prompts, masks], dim=1)
    if attention_mask is not None:
        if bool(attention_mask.bool().all()):
            attention_mask = None
        else:
            attention_mask = torch.cat([attention_mask, attention_mask.new_ones(masks.shape)], dim=1)
    with torch.no_grad():
        denoiser.run(canvas, attention_mask, prompts.shape[1])
    return records
