"""How a level turns logits into tokens and accepts or rejects the candidates of the level below.

Greedy: a candidate survives if it equals the target's argmax. Sampling: Leviathan et al.'s
rejection rule, applied at every level with the level below's distribution as the proposal, so
the output of the top level is distributed exactly as the full model. The choosers decide on the
host, candidate by candidate; ``sample`` and ``speculative_verdict`` are the same rules as
fixed-shape tensor arithmetic, for the compiled step (``static_decoding``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from transformers.generation import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

Warp = Callable[[torch.Tensor], torch.Tensor]


def logits_warp(temperature: float | None, top_k: int | None, top_p: float | None) -> Warp:
    """transformers' temperature, top-k and top-p warpers, in generate()'s order, as one function of logits
    (rows x vocabulary). Called one by one rather than through a ``LogitsProcessorList``, whose argument
    inspection a compiled step would not trace. These warpers ignore the prefix, which is what makes them
    exact under speculation."""
    warpers = []
    if temperature is not None and temperature != 1.0:
        warpers.append(TemperatureLogitsWarper(temperature))
    if top_k:
        warpers.append(TopKLogitsWarper(top_k))
    if top_p is not None and top_p < 1.0:
        warpers.append(TopPLogitsWarper(top_p))

    def warp(logits: torch.Tensor) -> torch.Tensor:
        for warper in warpers:
            logits = warper(None, logits)
        return logits

    return warp


def sample(probabilities: torch.Tensor) -> torch.Tensor:
    """One token per row of ``probabilities`` (rows x vocabulary), distributed exactly as that row: the
    index of the largest p_i / E_i over independent exponential E_i (a race of exponential clocks, won by
    token i with probability p_i). Unlike ``torch.multinomial`` it is fixed-shape arithmetic on uniform
    draws, which a compiled graph holds whole; a token of probability 0 never wins."""
    clocks = -torch.rand_like(probabilities).log()
    return (probabilities / clocks).argmax(dim=-1)


def speculative_verdict(
    targets: torch.Tensor, proposals: torch.Tensor, candidates: torch.Tensor, real: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``SamplingChooser.verify`` over a fixed window: row j of ``targets`` (p) and ``proposals`` (q) are the
    distributions at candidate j; ``real`` marks the candidates (the rows past them are padding).

    Candidate x survives with probability min(1, p(x)/q(x)) while every one before it did. Returns how many
    survived (0-dim) and the token after them: drawn from normalize(max(0, p - q)) at the first rejection
    (from p where that is empty), from p at the first padding row when all survived (the bonus).
    """
    picked_target = targets.gather(1, candidates[:, None])[:, 0]
    picked_proposal = proposals.gather(1, candidates[:, None])[:, 0]
    # u < p/q without dividing by a padding row's q of 0.
    survives = (torch.rand_like(picked_target) * picked_proposal < picked_target) & real
    accepted = survives.long().cumprod(dim=0).sum()
    residual = (targets - proposals).clamp(min=0)
    total = residual.sum(dim=-1, keepdim=True)
    from_target = ~real[:, None] | (total <= 0)
    replacements = torch.where(from_target, targets, residual / total.clamp(min=torch.finfo(total.dtype).tiny))
    token = sample(replacements.index_select(0, accepted.reshape(1)))
    return accepted, token


class GreedyChooser:
    """Argmax everywhere; no distributions are kept."""

    def pick_rows(self, logits: torch.Tensor) -> list[tuple[int, None]]:
        """The token for each row of logits (batch x vocabulary)."""
        return [(token, None) for token in logits.argmax(dim=-1).tolist()]

    def verify(self, candidates: list[int], proposals: list, target_logits: torch.Tensor) -> tuple[int, int, list]:
        """Accept the longest prefix of ``candidates`` that matches the target's argmax.

        ``target_logits`` has one row per candidate plus one (the bonus). Returns the number
        accepted, the correction (or bonus) token, and per-position target distributions (none).
        """
        targets = target_logits.argmax(dim=-1).tolist()
        accepted = 0
        while accepted < len(candidates) and candidates[accepted] == targets[accepted]:
            accepted += 1
        return accepted, targets[accepted], [None] * (accepted + 1)


class SamplingChooser:
    """Sampling from warped logits (temperature, top-k, top-p) with exact rejection at each level."""

    def __init__(self, warp: Callable[[torch.Tensor], torch.Tensor]) -> None:
        self.warp = warp

    def _probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        rows = logits.reshape(-1, logits.shape[-1])
        return torch.softmax(self.warp(rows), dim=-1)

    def pick_rows(self, logits: torch.Tensor) -> list[tuple[int, torch.Tensor]]:
        """A token sampled from each row of logits (batch x vocabulary), and the distribution it was drawn from."""
        probabilities = self._probabilities(logits)
        tokens = torch.multinomial(probabilities, 1)[:, 0].tolist()
        return list(zip(tokens, probabilities, strict=True))

    def verify(self, candidates: list[int], proposals: list, target_logits: torch.Tensor) -> tuple[int, int, list]:
        """Speculative sampling: candidate x drawn from q survives with probability min(1, p(x)/q(x)).

        On the first rejection the replacement comes from normalize(max(0, p - q)); if all survive,
        a bonus token comes from p. The returned target rows become the proposals that the next
        level up checks against: the accepted tokens are now distributed as this level's p.
        """
        targets = self._probabilities(target_logits)
        rows = list(targets)
        for index, (token, proposal) in enumerate(zip(candidates, proposals, strict=True)):
            ratio = targets[index, token] / proposal[token]
            if torch.rand((), device=targets.device) < ratio:
                continue
            residual = (targets[index] - proposal).clamp(min=0)
            total = residual.sum()
            # p == q exactly leaves nothing to resample from; p itself is then the right law.
            replacement = residual / total if total > 0 else targets[index]
            return index, int(torch.multinomial(replacement, 1)), rows[: index + 1]
        return len(candidates), int(torch.multinomial(targets[-1], 1)), rows
