"""The ADJUST objective (arXiv:2509.22738) in plain PyTorch:

    KL(p* || q_phi) = sum_k E_{t_<k ~ p*} KL( p_theta(. | x + t_<k)[j_k] || q_phi(. | H(x), t_<k)[j_k] )

Each recorded step with K positions gives K-1 examples (k = 2..K); the teacher's distribution comes
from the full pass with t_<k revealed, the sampler sees only H(x) and the embeddings of t_<k.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..loop import MaskedDiffusionModel, StepRecord


@dataclass
class DistillationBatch:
    """Examples for the sampler: inputs of ``JointSampler.forward`` plus the teacher's and the marginal's logits."""

    hidden: torch.Tensor
    revealed: torch.Tensor
    query_positions: torch.Tensor
    key_mask: torch.Tensor | None
    teacher_logits: torch.Tensor
    marginal_logits: torch.Tensor

    def __len__(self) -> int:
        return self.query_positions.shape[0]


def distillation_batch(records: list[StepRecord], base: MaskedDiffusionModel) -> DistillationBatch | None:
    """All (state, k) examples of a rollout; None when no step unmasked more than one token."""
    parts: dict[str, list[torch.Tensor]] = {name: [] for name in ("hidden", "revealed", "query", "teacher", "marginal")}
    masks: list[torch.Tensor] = []
    for record in records:
        batch, count = record.positions.shape
        rows = torch.arange(batch, device=record.positions.device)
        revealed = torch.zeros_like(record.hidden)
        embeddings = base.embed(record.tokens).to(record.hidden.dtype)
        for k in range(1, count):
            revealed = revealed.clone()
            revealed[rows, record.positions[:, k - 1]] = embeddings[:, k - 1]
            parts["hidden"].append(record.hidden)
            parts["revealed"].append(revealed)
            parts["query"].append(record.positions[:, k])
            parts["teacher"].append(record.teacher_logits[:, k - 1])
            parts["marginal"].append(record.first_logits[:, k])
            if record.key_mask is not None:
                masks.append(record.key_mask)
    if not parts["query"]:
        return None
    key_mask = torch.cat(masks) if masks else None
    return DistillationBatch(
        hidden=torch.cat(parts["hidden"]),
        revealed=torch.cat(parts["revealed"]),
        query_positions=torch.cat(parts["query"]),
        key_mask=key_mask,
        teacher_logits=torch.cat(parts["teacher"]),
        marginal_logits=torch.cat(parts["marginal"]),
    )


def kl_divergence(teacher_logits: torch.Tensor, student_logits: torch.Tensor) -> torch.Tensor:
    """KL(softmax(teacher) || softmax(student)) per row: over the last dimension (the vocabulary), any leading shape."""
    teacher = torch.log_softmax(teacher_logits.float(), dim=-1)
    student = torch.log_softmax(student_logits.float(), dim=-1)
    # Tokens the teacher never draws (the mask token, at -inf) add nothing, even where the student is -inf too.
    terms = teacher.exp() * (teacher - student)
    return torch.where(teacher > float("-inf"), terms, torch.zeros_like(terms)).sum(dim=-1)


def distillation_loss(
    sampler: torch.nn.Module, base: MaskedDiffusionModel, batch: DistillationBatch
) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean KL of the sampler to the teacher (differentiable) and, for reference, the marginal's (detached)."""
    dtype = next(sampler.parameters()).dtype
    states = sampler(batch.hidden.to(dtype), batch.revealed.to(dtype), batch.query_positions, batch.key_mask)
    loss = kl_divergence(batch.teacher_logits, base.logits_of(states)).mean()
    with torch.no_grad():
        marginal = kl_divergence(batch.teacher_logits, batch.marginal_logits).mean()
    return loss, marginal
