"""The vLLM importance-sampling ratio in every mode, against a token-by-token computation written here from the
definition trl's GRPOTrainer documents: pi_train / pi_vllm per token (``token_*``) or per sequence (the product
over its completion tokens, ``sequence_*``), truncated into [clip_min, clip_max] or zeroed outside it."""

from __future__ import annotations

import math

import pytest
import torch
from hfplug_murphy.importance import importance_sampling_ratio

MODES = ["token_truncate", "token_mask", "sequence_truncate", "sequence_mask"]


def reference_ratio(old, sampling, mask, mode, clip_min, clip_max) -> list[list[float]]:
    """Plain Python: each row's log-ratios over its completion tokens (padding and unscorable NaN tokens count as
    log-ratio 0), exponentiated per token or summed first per sequence, then clipped or masked."""
    rows = []
    for old_row, sampling_row, mask_row in zip(old.tolist(), sampling.tolist(), mask.tolist(), strict=True):
        logs = []
        for o, s, m in zip(old_row, sampling_row, mask_row, strict=True):
            value = (o - s) * m
            logs.append(0.0 if math.isnan(value) else value)
        ratios = [math.exp(sum(logs))] if mode.startswith("sequence") else [math.exp(v) for v in logs]
        low = -math.inf if clip_min is None else clip_min
        high = math.inf if clip_max is None else clip_max
        if mode.endswith("truncate"):
            ratios = [min(max(r, low), high) for r in ratios]
        else:
            ratios = [r if low <= r <= high else 0.0 for r in ratios]
        rows.append(ratios)
    return rows


def logps(seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    old = -torch.rand(4, 5, generator=generator) * 2
    sampling = old + 0.6 * torch.randn(4, 5, generator=generator)
    sampling[1, 2] = float("nan")  # vLLM could not score this token
    mask = torch.ones(4, 5)
    mask[0, 3:] = 0  # padding after a short completion
    mask[2, 1:] = 0
    return old, sampling, mask


# Truncation needs a bound (torch.clamp refuses two Nones, in trl's GRPOTrainer too); masking takes none.
CASES = [
    (mode, clip_min, clip_max)
    for mode in MODES
    for clip_min, clip_max in [(0.5, 2.0), (None, 1.5), (0.8, None), (None, None)]
    if mode.endswith("mask") or (clip_min, clip_max) != (None, None)
]


@pytest.mark.parametrize(("mode", "clip_min", "clip_max"), CASES)
def test_ratio_matches_the_definition(mode, clip_min, clip_max):
    old, sampling, mask = logps(seed=0)
    got = importance_sampling_ratio(old, sampling, mask, mode=mode, clip_min=clip_min, clip_max=clip_max)
    expected = reference_ratio(old, sampling, mask, mode, clip_min, clip_max)
    assert got.shape == ((4, 1) if mode.startswith("sequence") else (4, 5))
    assert got.tolist() == [pytest.approx(row, rel=1e-5) for row in expected]


def test_the_bounds_themselves_are_inside_the_range():
    """A ratio exactly at a bound is kept by the mask modes and left alone by truncation."""
    old = torch.tensor([[math.log(2.0), 0.0, math.log(0.5)]])
    sampling = torch.zeros(1, 3)
    mask = torch.ones(1, 3)
    for mode in ("token_mask", "token_truncate"):
        got = importance_sampling_ratio(old, sampling, mask, mode=mode, clip_min=0.5, clip_max=2.0)
        assert got.tolist() == [pytest.approx([2.0, 1.0, 0.5], rel=1e-6)]


def test_an_unknown_mode_is_refused_by_name():
    old, sampling, mask = logps(seed=1)
    with pytest.raises(ValueError, match="Unknown vLLM importance sampling mode: tokens"):
        importance_sampling_ratio(old, sampling, mask, mode="tokens", clip_min=None, clip_max=None)
