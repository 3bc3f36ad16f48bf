"""How a level turns logits into tokens and accepts or rejects the candidates of the level below.

Greedy: a candidate survives if it equals the target's argmax. Sampling: Leviathan et al.'s
rejection rule, applied at every level with the level below's distribution as the proposal, so
the output of the top level is distributed exactly as the full model.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


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
