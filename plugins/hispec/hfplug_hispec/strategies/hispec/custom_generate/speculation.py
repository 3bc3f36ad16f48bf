"""Hierarchical speculative decoding over the depth ranges of one early-exit model.

Level 0 drafts one token at a time from the shallowest exit. Level k >= 1 collects
``windows[k]`` candidates from level k - 1, then runs its own depth range once over them (the
shallower ranges first catch up on the last token) and keeps the longest prefix it agrees with
plus one token of its own. The top level's exit is the full model, so what it keeps is committed.
exits [L] is plain decoding, [l_d, L] is single-exit self-speculation, [l_d, l_i, L] is HiSpec.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from .layer_stack import LayerStack


@dataclass
class LevelCounts:
    """Candidates proposed to and accepted by one verifying level."""

    rounds: int = 0
    proposed: int = 0
    accepted: int = 0


@dataclass
class SpeculationStats:
    """Counters of one generation (spec property 3)."""

    exits: list[int]
    range_passes: list[int] = field(default_factory=list)
    range_positions: list[int] = field(default_factory=list)
    levels: list[LevelCounts] = field(default_factory=list)
    new_tokens: int = 0
    commits: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Plain numbers: passes and positions per depth range, acceptance per level, tokens per full pass."""
        ranges = []
        for k, exit_layer in enumerate(self.exits):
            low = 0 if k == 0 else self.exits[k - 1]
            ranges.append(
                {"layers": [low, exit_layer], "passes": self.range_passes[k], "positions": self.range_positions[k]}
            )
        acceptance = []
        for k in range(1, len(self.exits)):
            counts = self.levels[k]
            rate = counts.accepted / counts.proposed if counts.proposed else None
            acceptance.append(
                {
                    "verifier_exit": self.exits[k],
                    "proposer_exit": self.exits[k - 1],
                    "rounds": counts.rounds,
                    "proposed": counts.proposed,
                    "accepted": counts.accepted,
                    "rate": rate,
                }
            )
        full_passes = self.range_passes[-1]
        return {
            "exits": list(self.exits),
            "ranges": ranges,
            "acceptance": acceptance,
            "new_tokens": self.new_tokens,
            "full_passes": full_passes,
            "commits": self.commits,
            "tokens_per_full_pass": self.new_tokens / full_passes if full_passes else None,
        }


class HierarchicalDecoder:
    """Decodes one sequence (batch size 1) with exits ``exits`` and candidate windows ``windows``."""

    def __init__(
        self,
        model: torch.nn.Module,
        exits: list[int],
        windows: list[int],
        chooser: Any,
        eos_token_ids: set[int],
    ) -> None:
        if len(windows) != len(exits):
            raise ValueError(f"internal: {len(exits)} exits need {len(exits)} windows (the first is unused)")
        self.model = model
        self.exits = list(exits)
        self.windows = windows
        self.chooser = chooser
        self.eos_token_ids = eos_token_ids
        self.levels = [LevelCounts() for _ in exits]
        self.stack: LayerStack | None = None
        self.tokens: list[int] = []
        # proposals[j]: the distribution tokens[j] was drawn from (sampling), for positions past the commit point.
        self.proposals: list[Any] = []
        self.prompt_length = 0
        self.max_length = 0

    def decode(self, prompt: list[int], max_new_tokens: int) -> tuple[list[int], SpeculationStats]:
        """The prompt followed by the generated tokens (stopping after EOS or ``max_new_tokens``)."""
        self.tokens = list(prompt)
        self.proposals = [None] * len(prompt)
        self.prompt_length = len(prompt)
        self.max_length = len(prompt) + max_new_tokens
        # Speculation can run a window past max_length before the stop point is cut.
        self.stack = LayerStack(self.model, self.exits, capacity=self.max_length + sum(self.windows) + 1)
        commits = 0
        if max_new_tokens > 0:
            self._prefill()
            commits = 1
            while not self._finished():
                self._round(self.stack.top)
                commits += 1
        final_length = self._stop_point()
        del self.tokens[final_length:]
        # Like plain decoding, the last token has no KV yet: every range holds exactly the positions before it.
        self.stack.prune(max(final_length - 1, 0))
        stats = SpeculationStats(
            exits=self.stack.exits,
            range_passes=list(self.stack.passes),
            range_positions=list(self.stack.positions_run),
            levels=self.levels,
            new_tokens=final_length - self.prompt_length,
            commits=commits,
        )
        return self.tokens, stats

    def _prefill(self) -> None:
        hidden = self.stack.advance(self.stack.top, self.tokens)
        token, proposal = self.chooser.pick(self.stack.head_logits(hidden[:, -1:])[0])
        self._append(token, proposal)

    def _append(self, token: int, proposal: Any) -> None:
        self.tokens.append(token)
        self.proposals.append(proposal)

    def _stop_point(self) -> int:
        """Length of the output: up to and including the first generated EOS, at most max_length."""
        end = min(len(self.tokens), self.max_length)
        for position in range(self.prompt_length, end):
            if self.tokens[position] in self.eos_token_ids:
                return position + 1
        return end

    def _finished(self) -> bool:
        return self._stop_point() < len(self.tokens) or len(self.tokens) >= self.max_length or self._ends_in_eos()

    def _ends_in_eos(self) -> bool:
        return len(self.tokens) > self.prompt_length and self.tokens[-1] in self.eos_token_ids

    def _round(self, level: int) -> None:
        if level == 0:
            self._draft_one()
            return
        start = len(self.tokens)
        while len(self.tokens) - start < self.windows[level] and not self._finished():
            self._round(level - 1)
        candidates = self.tokens[start:]
        computed_from = self.stack.lengths[level]
        hidden = self.stack.advance(level, self.tokens)
        if computed_from > start - 1:
            raise RuntimeError(f"internal: level {level} lost the state of position {start - 1}")
        target_logits = self.stack.head_logits(hidden[0, -(len(candidates) + 1) :])
        accepted, token, targets = self.chooser.verify(candidates, self.proposals[start:], target_logits)
        counts = self.levels[level]
        counts.rounds += 1
        counts.proposed += len(candidates)
        counts.accepted += accepted
        keep = start + accepted
        del self.tokens[keep:]
        del self.proposals[start:]
        self.proposals.extend(targets[:accepted])
        self.stack.prune(keep)
        self._append(token, targets[accepted])

    def _draft_one(self) -> None:
        hidden = self.stack.advance(0, self.tokens)
        token, proposal = self.chooser.pick(self.stack.head_logits(hidden[:, -1:])[0])
        self._append(token, proposal)
