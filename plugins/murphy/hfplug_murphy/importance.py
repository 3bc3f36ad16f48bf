"""vLLM importance-sampling correction (trl's, for rows Murphy builds itself).

When completions come from vLLM, trl reweights each token by pi_train / pi_vllm, truncated or
masked outside a range. Murphy builds its own rows, so it applies the same correction, with the
same modes and clip settings as ``GRPOConfig``.
"""

from __future__ import annotations

import math

import torch


def importance_sampling_ratio(
    old_logps: torch.Tensor,
    sampling_logps: torch.Tensor,
    mask: torch.Tensor,
    *,
    mode: str,
    clip_min: float | None,
    clip_max: float | None,
) -> torch.Tensor:
    """The per-token (``token_*``) or per-sequence (``sequence_*``) ratio, truncated or masked."""
    diff = torch.nan_to_num((old_logps - sampling_logps) * mask, nan=0.0)
    if mode in ("sequence_mask", "sequence_truncate"):
        diff = diff.sum(dim=-1, keepdim=True)
    ratio = torch.exp(diff)
    if mode in ("sequence_truncate", "token_truncate"):
        return torch.clamp(ratio, min=clip_min, max=clip_max)
    if mode in ("sequence_mask", "token_mask"):
        low = clip_min if clip_min is not None else -math.inf
        high = clip_max if clip_max is not None else math.inf
        return ratio.masked_fill((ratio < low) | (ratio > high), 0.0)
    raise ValueError(
        f"Unknown vLLM importance sampling mode: {mode}. Use 'token_truncate', 'token_mask', 'sequence_truncate' "
        "or 'sequence_mask'."
    )
