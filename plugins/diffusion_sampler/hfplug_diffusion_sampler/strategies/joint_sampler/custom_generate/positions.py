"""Which K masked positions a step unmasks, and in which order, fixed before anything is sampled.

Scores come from the step's marginals (after temperature / top-k / top-p), so the first position and
its distribution do not depend on the sampler. The choices mirror Dream's ``alg`` (``maskgit_plus``:
top probability, ``topk_margin``, ``entropy``, ``origin``: random) and LLaDA's ``low_confidence``
remasking, except that Dream and LLaDA rank by the probability of an already drawn token; ADJUST needs
the order before sampling, so ``confidence`` ranks by the top probability.
"""

from __future__ import annotations

import torch

POSITION_CHOICES = ("confidence", "margin", "entropy", "random", "left_to_right")


def position_scores(choice: str, probabilities: torch.Tensor, columns: torch.Tensor) -> torch.Tensor:
    """Higher is unmasked first. ``probabilities`` ``(B, C, V)`` at the C candidate ``columns`` ``(B, C)``."""
    if choice == "confidence":
        return probabilities.max(dim=-1).values
    if choice == "margin":
        top = probabilities.topk(2, dim=-1).values
        return top[..., 0] - top[..., 1]
    if choice == "entropy":
        return (probabilities * probabilities.clamp_min(1e-30).log()).sum(dim=-1)
    if choice == "random":
        return torch.rand(columns.shape, device=columns.device)
    if choice == "left_to_right":
        return -columns.to(torch.float32)
    raise ValueError(f"position_choice must be one of {', '.join(POSITION_CHOICES)}, got {choice!r}.")


def step_order(choice: str, probabilities: torch.Tensor, columns: torch.Tensor, count: int) -> torch.Tensor:
    """The ``count`` columns ``(B, count)`` to unmask this step, in unmasking order."""
    scores = position_scores(choice, probabilities, columns)
    picked = scores.topk(count, dim=-1).indices
    return columns.gather(1, picked)
