"""The InfoPO per-pair losses as plain tensor functions (no trainer), so each can be tested and reused alone.

All variants take the log-ratios ``r = log pi_theta(y|x) - log pi_ref(y|x)`` of the chosen (``r_w``) and
rejected (``r_l``) response of each pair and return one loss per pair:

- ``nwj`` (default): ``-beta * r_w + exp(beta * r_l - 1)``, the negative NWJ (Nguyen-Wainwright-Jordan)
  mutual-information lower bound ``E_pos[T] - e^-1 E_neg[e^T]`` with critic ``T = beta * r``.
- ``shifted``: ``-(1 + beta * r_w) + exp(beta * r_l)``, the same bound with critic ``T + 1``.
- ``ukl``: ``-r_w + exp(r_l)``, the "UKL" loss of the same authors' DIL code (github.com/tengxiao1/DIL,
  ``scripts/dpo_trainer.py``; there the chosen term is ``-log pi_theta(y_w)``, which differs from ``-r_w`` by
  the constant ``log pi_ref(y_w)``, so the gradients are the same). It has no temperature: ``beta`` does not
  enter it.

Unlike DPO's ``-log sigmoid(beta * (r_w - r_l))``, none of them depends on the margin alone: the chosen
term is linear (its gradient never vanishes) and the rejected term decays to 0 as ``r_l -> -inf``.
"""

from __future__ import annotations

import math

import torch

VARIANTS = ("nwj", "shifted", "ukl")


def infopo_loss(
    chosen_logratios: torch.Tensor, rejected_logratios: torch.Tensor, beta: float, variant: str = "nwj"
) -> torch.Tensor:
    """Per-pair InfoPO losses, shaped like the inputs (take ``.mean()`` for the batch loss).

    ``chosen_logratios`` and ``rejected_logratios`` are ``log pi_theta - log pi_ref`` of the chosen and rejected
    responses (sequence sums, or per-token means when the trainer averages over length). The arithmetic runs in
    at least float32, so a bf16 policy does not lose the small exponentials.
    """
    if variant not in VARIANTS:
        raise ValueError(f"Unknown InfoPO variant {variant!r}; expected one of {VARIANTS}.")
    if not (math.isfinite(beta) and beta > 0):
        raise ValueError(f"beta must be a positive finite number, got {beta!r}.")
    if chosen_logratios.shape != rejected_logratios.shape:
        raise ValueError(
            f"chosen and rejected log-ratios must have the same shape, got {tuple(chosen_logratios.shape)} and "
            f"{tuple(rejected_logratios.shape)}."
        )
    dtype = torch.promote_types(chosen_logratios.dtype, torch.float32)
    chosen, rejected = chosen_logratios.to(dtype), rejected_logratios.to(dtype)
    if variant == "nwj":
        return -beta * chosen + torch.exp(beta * rejected - 1.0)
    if variant == "shifted":
        return -(1.0 + beta * chosen) + torch.exp(beta * rejected)
    return -chosen + torch.exp(rejected)
