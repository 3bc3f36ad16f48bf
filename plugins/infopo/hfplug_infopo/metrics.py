"""The metrics an InfoPO step logs: every name trl's DPOTrainer logs, plus per-token log-likelihoods.

Everything is reduced to sums on this process, gathered across processes in one collective, and read
back to the host in one copy (DPO does about a dozen of each per step).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch


@dataclass
class PairStatistics:
    """What one forward pass produced, all ``(pairs,)`` tensors except where noted."""

    chosen_logps: torch.Tensor  # sequence log-likelihoods of the policy
    rejected_logps: torch.Tensor
    chosen_rewards: torch.Tensor  # beta * the log-ratios the loss used
    rejected_rewards: torch.Tensor


# (name, how it is averaged): each metric is sum(numerator) / sum(denominator) over all processes.
_RATIOS = (
    ("entropy", "entropy_sum", "completion_tokens"),
    ("logits/chosen", "chosen_logit_sum", "chosen_token_count"),
    ("logits/rejected", "rejected_logit_sum", "rejected_token_count"),
    ("mean_token_accuracy", "chosen_top1", "chosen_token_count"),
    ("rewards/chosen", "chosen_reward_sum", "pairs"),
    ("rewards/rejected", "rejected_reward_sum", "pairs"),
    ("rewards/accuracies", "reward_wins", "pairs"),
    ("rewards/margins", "margin_sum", "pairs"),
    ("logps/chosen", "chosen_logp_sum", "pairs"),
    ("logps/rejected", "rejected_logp_sum", "pairs"),
    ("logps/chosen_per_token", "chosen_logp_sum", "chosen_token_count"),
    ("logps/rejected_per_token", "rejected_logp_sum", "rejected_token_count"),
)


def step_sums(outputs: Any, shift_mask: torch.Tensor, attention_mask: torch.Tensor, pairs: PairStatistics) -> dict:
    """This process's sums for :data:`_RATIOS` (and the token count), as 0-d tensors."""
    seq_len = shift_mask.size(1)
    mask = shift_mask.bool()
    chosen_mask, rejected_mask = mask.chunk(2, dim=0)
    entropy = outputs.entropy[:, -seq_len:].detach()
    chosen_logits, rejected_logits = outputs.mean_logits[:, -seq_len:].detach().chunk(2, dim=0)
    chosen_top1, _ = outputs.is_top1[:, -seq_len:].chunk(2, dim=0)
    chosen_rewards, rejected_rewards = pairs.chosen_rewards.detach(), pairs.rejected_rewards.detach()
    return {
        "entropy_sum": (entropy * mask).sum(),
        "completion_tokens": mask.sum(),
        "chosen_logit_sum": (chosen_logits * chosen_mask).sum(),
        "rejected_logit_sum": (rejected_logits * rejected_mask).sum(),
        "chosen_token_count": chosen_mask.sum(),
        "rejected_token_count": rejected_mask.sum(),
        "chosen_top1": (chosen_top1.bool() & chosen_mask).sum(),
        "chosen_reward_sum": chosen_rewards.sum(),
        "rejected_reward_sum": rejected_rewards.sum(),
        "reward_wins": (chosen_rewards > rejected_rewards).sum(),
        "margin_sum": (chosen_rewards - rejected_rewards).sum(),
        "chosen_logp_sum": pairs.chosen_logps.detach().sum(),
        "rejected_logp_sum": pairs.rejected_logps.detach().sum(),
        "pairs": torch.tensor(chosen_rewards.numel(), device=chosen_rewards.device),
        "attention_tokens": attention_mask.sum(),
    }


def reduce_step_sums(sums: dict[str, torch.Tensor], gather: Any) -> dict[str, float]:
    """Sum each entry over processes (``gather`` is ``accelerator.gather``) with one collective and one copy."""
    names = list(sums)
    device = sums[names[0]].device
    local = torch.stack([sums[name].to(device=device, dtype=torch.float32) for name in names])
    gathered = gather(local).view(-1, len(names)).sum(dim=0).tolist()
    return dict(zip(names, gathered, strict=True))


def metric_values(totals: dict[str, float]) -> dict[str, float]:
    """The logged metrics from the summed statistics (0 where a denominator is 0, as DPO does)."""
    return {
        name: (totals[numerator] / totals[denominator] if totals[denominator] > 0 else 0.0)
        for name, numerator, denominator in _RATIOS
    }
