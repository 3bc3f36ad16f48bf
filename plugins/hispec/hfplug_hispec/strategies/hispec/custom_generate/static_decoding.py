"""Greedy speculative decoding as fixed-shape steps that ``torch.compile`` captures whole (``compile=True``).

The same hierarchy of exits as ``speculation.py`` (``[L]`` plain, ``[l_d, L]`` self-speculation,
``[l_d, l_i, L]`` HiSpec), rebuilt for graphs: every tensor a step touches has a fixed shape and
address, and every position is a 0-dim tensor, so one compiled graph per level serves every
round, whatever was accepted before.

- One key/value buffer per layer and one buffer of each range's output hidden states, both for
  every position decoding can reach; a pass writes them with ``index_copy_`` at tensor positions
  and attends over the whole buffer under a causal mask. Pruning a rejected suffix is only the
  next round's start position: a stale entry at or past it is overwritten before any query sees it.
- Level 0 drafts one token (range 0 at one position). Level k >= 1 first runs ranges 0..k-1 at
  the newest position (catch-up), then runs range k over a window of fixed width (the most
  candidates the level can collect, plus one) from its own start; past the real candidates the
  window holds stale states whose outputs no real position attends to. Acceptance (longest
  agreeing prefix, then the correction or bonus token written after it) is tensor arithmetic.
- Sampling (``sampling`` = temperature, top-k, top-p) keeps one more buffer: the distribution each
  token was drawn from at the latest level that chose it. A level verifies its candidates against
  them with speculative sampling (``acceptance.speculative_verdict``) and writes its own
  distributions over its window, so the accepted tokens and its own token carry the distribution they
  now follow, as in the eager path; tokens are drawn from uniform draws inside the step
  (``acceptance.sample``), so the output follows the full model's distribution exactly, but with
  other random numbers than the eager path's.
- The host keeps the round structure: it reads one number per verification (how many candidates
  were accepted, which decides where the next round starts), outside the compiled steps, and the
  committed tokens when it must look for an end-of-sequence token.

One unpadded row. Greedy tokens are the eager path's up to floating-point reduction order: the
attention sums run over the whole buffer, whose masked entries weigh exactly zero.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from .acceptance import logits_warp, sample, speculative_verdict
from .decoder_layers import LayerRunner, fused_weights
from .exit_head import ExitHead
from .speculation import LevelCounts, SpeculationStats

# Buffers are sized in steps of this many positions, so calls of similar length share compiled steps.
CAPACITY_STEP = 256
# What sampling warps the logits with: temperature, top-k, top-p (as in GenerationConfig).
Sampling = tuple[float | None, int | None, float | None]


def window_widths(windows: list[int]) -> list[int]:
    """Positions each level's pass covers: 1 for the drafter; for level k, the most candidates it can
    collect (it stops once it holds ``windows[k]``, and the last sub-round may add a whole window of the
    level below plus its bonus) plus the newest position."""
    widths = [1]
    added = 1  # most tokens one round of the level below can add
    for window in windows[1:]:
        most_candidates = window - 1 + added
        widths.append(most_candidates + 1)
        added = most_candidates + 1
    return widths


def static_capacity(max_length: int, windows: list[int]) -> int:
    """Positions the buffers need: the longest output, plus how far windows can run past it."""
    needed = max_length + 2 * sum(window_widths(windows)) + 2
    return -(-needed // CAPACITY_STEP) * CAPACITY_STEP


def default_compile_options(device: torch.device) -> dict[str, Any]:
    """CUDA graphs on a GPU (``reduce-overhead``); inductor's default elsewhere."""
    return {"mode": "reduce-overhead"} if device.type == "cuda" else {}


class StaticSpeculation(LayerRunner):
    """Fixed buffers and one step function per level for one model, exits, windows and capacity.

    ``compile_options`` None runs the steps eagerly (same code, same buffers); a dict is passed to
    ``torch.compile`` for every step. ``sampling`` None decodes greedily; else it samples with those
    settings.
    """

    def __init__(
        self,
        model: nn.Module,
        exits: list[int],
        windows: list[int],
        capacity: int,
        float32_logits: bool = False,
        compile_options: dict[str, Any] | None = None,
        sampling: Sampling | None = None,
    ) -> None:
        super().__init__(model, capacity, batch_size=1)
        self.warp = None if sampling is None else logits_warp(*sampling)
        self.exits = list(exits)
        self.windows = list(windows)
        self.ranges = [(0 if k == 0 else exits[k - 1], exits[k]) for k in range(len(exits))]
        self.widths = window_widths(windows)
        self.head = ExitHead(model, float32=float32_logits)
        hidden_shape = (1, capacity, model.config.hidden_size)
        # saved[k][0, p]: range k's output at position p, the input of range k + 1.
        self.saved = [torch.zeros(hidden_shape, dtype=self.dtype, device=self.device) for _ in exits[:-1]]
        self.tokens = torch.zeros(1, capacity, dtype=torch.long, device=self.device)
        self.key_positions = torch.arange(capacity, device=self.device)
        # proposals[p]: the distribution the token at p was drawn from (sampling only; the logits are float32).
        vocabulary = model.lm_head.weight.shape[0]
        self.proposals = torch.zeros(0 if self.warp is None else capacity, vocabulary, device=self.device)
        for buffer in [*self.keys, *self.values, *self.saved, self.tokens, self.proposals]:
            # CUDA graphs replay fixed addresses: the buffers the steps write must never move.
            torch._dynamo.mark_static_address(buffer)
        steps = [self._draft_step] + [self._verify_step(level) for level in range(1, len(exits))]
        if compile_options is not None:
            steps = [torch.compile(step, **compile_options) for step in steps]
        self.steps: list[Callable[..., Any]] = steps

    @property
    def top(self) -> int:
        return len(self.exits) - 1

    def _store(
        self, index: int, keys: torch.Tensor, values: torch.Tensor, where: object
    ) -> tuple[torch.Tensor, torch.Tensor]:
        self.keys[index].index_copy_(2, where, keys)
        self.values[index].index_copy_(2, where, values)
        return self.keys[index], self.values[index]

    def run_range(self, k: int, hidden: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """Range k's layers over ``hidden`` (1 x n x hidden) at ``positions`` (n distinct positions).

        Writes their keys and values at those positions and attends over the whole buffer, each
        query to the keys at or before its own position.
        """
        mask = self.key_positions[None] <= positions[:, None]
        low, high = self.ranges[k]
        hidden = self._layers(hidden, low, high, self.cos[positions], self.sin[positions], mask, positions)
        if k < self.top:
            self.saved[k].index_copy_(1, positions, hidden)
        return hidden

    def _catch_up(self, levels: int, position: torch.Tensor) -> None:
        """Ranges 0..levels-1 at one position, each from the output of the one below."""
        positions = position.reshape(1)
        hidden = self.model.model.embed_tokens(self.tokens.index_select(1, positions))
        for k in range(levels):
            hidden = self.run_range(k, hidden, positions)

    def _draft_step(self, position: torch.Tensor) -> torch.Tensor:
        """Level 0: range 0 at ``position``; its exit's argmax becomes the token at ``position + 1``."""
        positions = position.reshape(1)
        hidden = self.model.model.embed_tokens(self.tokens.index_select(1, positions))
        hidden = self.run_range(0, hidden, positions)
        token = self._choose(self.head.logits(hidden)[0], positions + 1)
        self.tokens.index_copy_(1, positions + 1, token[None])
        return token

    def _probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.warp(logits), dim=-1)

    def _choose(self, logits: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """The tokens for ``positions`` from one row of logits each: argmax, or drawn from the warped
        distribution, which is then kept as the proposal of those tokens."""
        if self.warp is None:
            return logits.argmax(dim=-1)
        probabilities = self._probabilities(logits)
        self.proposals.index_copy_(0, positions, probabilities)
        return sample(probabilities)

    def _verify_step(self, level: int) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        width = self.widths[level]
        offsets = torch.arange(width, device=self.device)

        def verify(start: torch.Tensor, newest: torch.Tensor) -> torch.Tensor:
            """Level ``level`` checks the candidates at ``start + 1 .. newest`` with range ``level`` over the
            window ``start .. start + width - 1``; writes its own token after the accepted prefix and returns
            how many candidates it accepted (a 0-dim tensor)."""
            self._catch_up(level, newest)
            positions = start + offsets
            hidden = self.run_range(level, self.saved[level - 1].index_select(1, positions), positions)
            logits = self.head.logits(hidden)[0]
            candidates = self.tokens[0].index_select(0, positions + 1)
            real = offsets < newest - start
            if self.warp is None:
                predictions = logits.argmax(dim=-1)
                accepted = ((candidates == predictions) & real).long().cumprod(dim=0).sum()
                token = predictions.index_select(0, accepted.reshape(1))
            else:
                targets = self._probabilities(logits)
                proposals = self.proposals.index_select(0, positions + 1)
                accepted, token = speculative_verdict(targets, proposals, candidates, real)
                # The accepted tokens and this level's own now follow this level's distributions.
                self.proposals.index_copy_(0, positions + 1, targets)
            self.tokens.index_copy_(1, (start + 1 + accepted).reshape(1), token.reshape(1, 1))
            return accepted

        return verify

    def prefill(self, prompt: list[int]) -> None:
        """Every range over the prompt (eagerly: its length varies), then the full model's first token."""
        length = len(prompt)
        positions = self.key_positions[:length]
        self.tokens[0, :length] = torch.tensor(prompt, device=self.device)
        hidden = self.model.model.embed_tokens(self.tokens[:, :length])
        for k in range(len(self.exits)):
            hidden = self.run_range(k, hidden if k == 0 else self.saved[k - 1][:, :length], positions)
        self.tokens[0, length] = self._choose(self.head.logits(hidden[:, -1]), positions[length - 1 :] + 1)[0]


class StaticDecodingRun:
    """One generation on a ``StaticSpeculation``: the round structure on the host, the steps on the device."""

    def __init__(self, static: StaticSpeculation, eos_token_ids: set[int]) -> None:
        self.static = static
        self.eos_token_ids = eos_token_ids
        self.levels = [LevelCounts() for _ in static.exits]
        self.passes = [0] * len(static.exits)
        self.positions_run = [0] * len(static.exits)
        self.max_length = 0

    def _position(self, value: int) -> torch.Tensor:
        return torch.tensor(value, device=self.static.device)

    def _round(self, level: int, newest: int) -> int:
        """One round of ``level`` from the newest token at ``newest``; returns the newest position after it."""
        static = self.static
        if level == 0:
            static.steps[0](self._position(newest))
            self.passes[0] += 1
            self.positions_run[0] += 1
            return newest + 1
        start = newest
        while newest - start < static.windows[level] and newest + 1 < self.max_length:
            newest = self._round(level - 1, newest)
        # The one host sync of a verification: where the next round starts depends on it.
        accepted = int(static.steps[level](self._position(start), self._position(newest)))
        for k in range(level):
            self.passes[k] += 1
            self.positions_run[k] += 1
        self.passes[level] += 1
        self.positions_run[level] += static.widths[level]
        counts = self.levels[level]
        counts.rounds += 1
        counts.proposed += newest - start
        counts.accepted += accepted
        return start + 1 + accepted

    def decode(self, prompt: list[int], max_new_tokens: int) -> tuple[list[int], SpeculationStats]:
        """The prompt followed by its continuation (up to and including an EOS), and the counters."""
        static = self.static
        prompt_length = len(prompt)
        self.max_length = prompt_length + max_new_tokens
        if static.capacity < static_capacity(self.max_length, static.windows):
            raise ValueError(f"internal: buffers of {static.capacity} positions are too short for {self.max_length}")
        newest, commits, ended = prompt_length - 1, 0, False
        if max_new_tokens > 0:
            static.prefill(prompt)
            for k in range(len(static.exits)):
                self.passes[k] += 1
                self.positions_run[k] += prompt_length
            newest, commits = prompt_length, 1
            ended = self._has_eos(prompt_length, newest)
            while not ended and newest + 1 < self.max_length:
                previous, newest = newest, self._round(static.top, newest)
                commits += 1
                ended = self._has_eos(previous + 1, newest)
        row = static.tokens[0, : newest + 1].tolist()
        stop = min(len(row), self.max_length)
        for position in range(prompt_length, stop):
            if row[position] in self.eos_token_ids:
                stop = position + 1
                break
        stats = SpeculationStats(
            exits=list(static.exits),
            range_passes=self.passes,
            range_positions=self.positions_run,
            levels=self.levels,
            new_tokens=stop - prompt_length,
            commits=commits,
            batch_size=1,
            row_passes=self.passes[-1],
        )
        return row[:stop], stats

    def _has_eos(self, first: int, last: int) -> bool:
        """Whether a committed token at positions ``first..last`` is an end of sequence (reads them: a sync)."""
        if not self.eos_token_ids:
            return False
        return any(token in self.eos_token_ids for token in self.static.tokens[0, first : last + 1].tolist())


def static_speculation_for(
    model: nn.Module,
    exits: list[int],
    windows: list[int],
    max_length: int,
    float32_logits: bool,
    compile_options: dict[str, Any] | None,
    sampling: Sampling | None = None,
) -> StaticSpeculation:
    """The model's static decoder for these settings, built once and kept on the model (``_hfplug_static``),
    so later calls reuse its buffers and compiled steps; rebuilt when a setting or a weight changes."""
    capacity = static_capacity(max_length, windows)
    options = None if compile_options is None else tuple(sorted(compile_options.items(), key=lambda item: item[0]))
    key = (tuple(exits), tuple(windows), capacity, float32_logits, options, sampling)
    cached = getattr(model, "_hfplug_static", None)
    if cached is not None and cached[0] == key and cached[1].weights is fused_weights(model):
        return cached[1]
    static = StaticSpeculation(model, exits, windows, capacity, float32_logits, compile_options, sampling)
    model._hfplug_static = (key, static)
    return static
