"""The TALR weights as pure tensor functions (no trainer), so each property can be tested alone.

A weighting is two numbers, ``tau`` and ``log_scale``: the weight of a valid token with loss
``nll`` is ``max(exp(log_scale - nll / tau), w_min)``, and 0 on ignored positions. With
``normalize='none'`` the scale is 1 (``w = p^(1/tau)``). With ``normalize='simplex'`` the scale
makes the floored weights average 1 over the batch's valid tokens, i.e. ``w / n_valid`` is on the
simplex; ``loss = sum(w * nll) / n_valid`` is then exactly ``sum(simplex_w * nll)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

# A median loss of exactly 0 (a memorised batch) would divide by zero; any tau this small already
# sends every non-zero-loss token to the floor.
MIN_TAU = 1e-6


@dataclass(frozen=True)
class WeightParams:
    """How one batch's losses turn into weights (see the module docstring)."""

    tau: float
    log_scale: float = 0.0


def batch_median_tau(nll: torch.Tensor, mask: torch.Tensor, tau_from: str) -> float:
    """The median loss over valid tokens (``tau_from='token'``) or over per-sequence mean losses
    (``'sequence'``); ``nll`` and ``mask`` are ``(batch, positions)``. Ignored positions never count."""
    nll = nll.detach().float()
    if tau_from == "token":
        values = nll[mask]
    else:
        counts = mask.sum(dim=-1)
        values = (nll * mask).sum(dim=-1)[counts > 0] / counts[counts > 0]
    if values.numel() == 0:
        return 1.0  # no trainable token: the weights multiply nothing, any tau will do
    # The interpolated median, so that an even number of values gives the midpoint
    return max(float(torch.quantile(values, 0.5)), MIN_TAU)


def fit_weight_params(
    nll: torch.Tensor, mask: torch.Tensor, *, tau: float | None, tau_from: str, normalize: str, w_min: float
) -> WeightParams:
    """Choose ``tau`` (fixed or the batch median) and, for ``normalize='simplex'``, the scale."""
    chosen_tau = tau if tau is not None else batch_median_tau(nll, mask, tau_from)
    if normalize == "none":
        return WeightParams(tau=chosen_tau)
    return WeightParams(tau=chosen_tau, log_scale=_simplex_log_scale(nll.detach().float()[mask], chosen_tau, w_min))


def _simplex_log_scale(valid_nll: torch.Tensor, tau: float, w_min: float) -> float:
    """The log-scale that makes ``max(scale * exp(-nll / tau), w_min)`` average exactly 1.

    Start from the softmax scaled to mean 1, floor the tokens below ``w_min`` and give the rest the
    remaining mass; flooring only lowers the shared factor, so the floored set grows until it stops
    changing (at most ``n`` rounds, usually one or two).
    """
    n = valid_nll.numel()
    if n == 0:
        return 0.0
    logits = -valid_nll.double() / tau  # float64: see token_weights
    log_base = math.log(n) - torch.logsumexp(logits, dim=0)  # scale of the unfloored softmax, mean 1
    relative = torch.exp(logits + log_base)
    floored = torch.zeros(n, dtype=torch.bool, device=valid_nll.device)
    factor = torch.tensor(1.0, dtype=torch.float64, device=valid_nll.device)
    for _ in range(n):
        free = relative[~floored].sum()
        if free <= 0:  # everything floored: w_min == 1, the uniform weighting
            break
        factor = (n - floored.sum() * w_min) / free
        now_floored = floored | (factor * relative < w_min)
        if torch.equal(now_floored, floored):
            break
        floored = now_floored
    return float(log_base + torch.log(factor))


def token_weights(nll: torch.Tensor, mask: torch.Tensor, params: WeightParams, w_min: float) -> torch.Tensor:
    """Per-token weights, detached from the graph (the stop-gradient of the method), 0 where ``mask`` is False."""
    # float64 for the exponent: log_scale can be large when every loss is (exp(500 - 499) must stay e).
    exponent = params.log_scale - nll.detach().double() / params.tau
    weights = torch.exp(exponent).clamp(min=w_min).float()
    return torch.where(mask, weights, torch.zeros_like(weights))
