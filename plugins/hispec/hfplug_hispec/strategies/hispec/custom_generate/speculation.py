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
    batch_size: int = 1
    row_passes: int = 0  # full passes times the rows still generating in each

    def as_dict(self) -> dict[str, Any]:
        """Plain numbers: passes and positions per depth range, acceptance per level (over the rows
        still generating), new tokens (all rows) and tokens per full pass (per row still generating in it)."""
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
            "batch_size": self.batch_size,
            "tokens_per_full_pass": self.new_tokens / self.row_passes if self.row_passes else None,
        }


class HierarchicalDecoder:
    """Decodes a batch of rows (equal length, left-padded) with exits ``exits`` and candidate windows ``windows``.

    Rows advance in lockstep: after a verification every row keeps as many candidates as the
    row that accepted fewest (rows that have already ended do not count) plus one token of its
    own, so every range holds the same columns for every row. A row that agreed further keeps
    its accepted candidate at that column, which is exactly what its verifier would have kept.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        exits: list[int],
        windows: list[int],
        chooser: Any,
        eos_token_ids: set[int],
        pad_token_id: int | None = None,
        float32_logits: bool = False,
    ) -> None:
        if len(windows) != len(exits):
            raise ValueError(f"internal: {len(exits)} exits need {len(exits)} windows (the first is unused)")
        self.model = model
        self.exits = list(exits)
        self.windows = windows
        self.chooser = chooser
        self.eos_token_ids = eos_token_ids
        self.pad_token_id = pad_token_id
        self.float32_logits = float32_logits
        self.levels = [LevelCounts() for _ in exits]
        self.stack: LayerStack | None = None
        self.rows: list[list[int]] = []
        # proposals[b][j]: the distribution rows[b][j] was drawn from (sampling), for columns past the commit point.
        self.proposals: list[list[Any]] = []
        self.prompt_length = 0
        self.max_length = 0
        self.row_passes = 0

    @property
    def length(self) -> int:
        return len(self.rows[0])

    def decode(
        self, prompts: list[list[int]], max_new_tokens: int, padding: list[int] | None = None
    ) -> tuple[list[list[int]], SpeculationStats]:
        """Each prompt followed by its generated tokens: up to and including its EOS, then padding
        up to the longest row, at most ``max_new_tokens``. ``padding[b]``: prompt b's leading pad columns."""
        if len({len(prompt) for prompt in prompts}) != 1:
            raise ValueError("internal: prompts must have equal length (left-pad them)")
        self.rows = [list(prompt) for prompt in prompts]
        self.proposals = [[None] * len(prompt) for prompt in prompts]
        self.prompt_length = len(prompts[0])
        self.max_length = self.prompt_length + max_new_tokens
        # Speculation can run a window past max_length before the stop point is cut.
        capacity = self.max_length + sum(self.windows) + 1
        self.stack = LayerStack(
            self.model, self.exits, capacity=capacity, padding=padding, float32_logits=self.float32_logits
        )
        commits = 0
        if max_new_tokens > 0:
            self._prefill()
            commits = 1
            while not self._finished():
                self._round(self.stack.top)
                commits += 1
        stops = [self._stop_point(row) for row in self.rows]
        final_length = max(stops)
        if any(stop < final_length for stop in stops) and self.pad_token_id is None:
            raise ValueError("Rows of the batch ended at different lengths and there is no pad_token_id to fill them.")
        for row, stop in zip(self.rows, stops, strict=True):
            del row[final_length:]
            row[stop:] = [self.pad_token_id] * (final_length - stop)
        # Like plain decoding, the last token has no KV yet: every range holds exactly the columns before it.
        self.stack.prune(max(final_length - 1, 0))
        stats = SpeculationStats(
            exits=self.stack.exits,
            range_passes=list(self.stack.passes),
            range_positions=list(self.stack.positions_run),
            levels=self.levels,
            new_tokens=sum(stop - self.prompt_length for stop in stops),
            commits=commits,
            batch_size=len(self.rows),
            row_passes=self.row_passes,
        )
        return self.rows, stats

    def _prefill(self) -> None:
        hidden = self.stack.advance(self.stack.top, self.rows)
        self.row_passes += len(self.rows)
        self._append_column(self.chooser.pick_rows(self.stack.head_logits(hidden[:, -1])))

    def _append_column(self, picks: list[tuple[int, Any]]) -> None:
        for row, proposals, (token, proposal) in zip(self.rows, self.proposals, picks, strict=True):
            row.append(token)
            proposals.append(proposal)

    def _ended(self, row: list[int], before: int | None = None) -> bool:
        """Whether the row generated an EOS (among its columns before ``before``)."""
        return any(token in self.eos_token_ids for token in row[self.prompt_length : before])

    def _stop_point(self, row: list[int]) -> int:
        """Length of the row's output: up to and including its first generated EOS, at most max_length."""
        end = min(len(row), self.max_length)
        for position in range(self.prompt_length, end):
            if row[position] in self.eos_token_ids:
                return position + 1
        return end

    def _finished(self) -> bool:
        return self.length >= self.max_length or all(self._ended(row) for row in self.rows)

    def _round(self, level: int) -> None:
        if level == 0:
            self._draft_one()
            return
        start = self.length
        while self.length - start < self.windows[level] and not self._finished():
            self._round(level - 1)
        count = self.length - start
        computed_from = self.stack.lengths[level]
        hidden = self.stack.advance(level, self.rows)
        if computed_from > start - 1:
            raise RuntimeError(f"internal: level {level} lost the state of column {start - 1}")
        target_logits = self.stack.head_logits(hidden[:, -(count + 1) :])
        live = [not self._ended(row, before=start) for row in self.rows]
        if level == self.stack.top:
            self.row_passes += sum(live)
        verdicts = [
            self.chooser.verify(row[start:], proposals[start:], logits)
            for row, proposals, logits in zip(self.rows, self.proposals, target_logits, strict=True)
        ]
        keep = min((accepted for (accepted, _, _), alive in zip(verdicts, live, strict=True) if alive), default=count)
        counts = self.levels[level]
        counts.rounds += 1
        counts.proposed += count * sum(live)
        counts.accepted += sum(accepted for (accepted, _, _), alive in zip(verdicts, live, strict=True) if alive)
        for row, proposals, (accepted, token, targets), alive in zip(
            self.rows, self.proposals, verdicts, live, strict=True
        ):
            if not alive:
                # Ended before this round: its columns become padding in the output; keep the candidates.
                token, proposal = (row[start + keep], proposals[start + keep]) if keep < count else (token, targets[-1])
                del row[start + keep :]
                del proposals[start + keep :]
            else:
                # A row that accepted past `keep` keeps its candidate there: the verifier agreed with it.
                if accepted > keep:
                    token = row[start + keep]
                proposal = targets[keep]
                del row[start + keep :]
                del proposals[start:]
                proposals.extend(targets[:keep])
            row.append(token)
            proposals.append(proposal)
        self.stack.prune(start + keep)

    def _draft_one(self) -> None:
        hidden = self.stack.advance(0, self.rows)
        if self.stack.top == 0:  # plain decoding: the drafting exit is the full model
            self.row_passes += sum(not self._ended(row) for row in self.rows)
        self._append_column(self.chooser.pick_rows(self.stack.head_logits(hidden[:, -1])))
