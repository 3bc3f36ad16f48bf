"""Which exits to draft and verify at: measured on a few prompts, not guessed.

Two measurements on the model's own greedy continuations of the prompts:
- per exit layer, how often its prediction (shared norm + LM head) equals the full model's,
  the acceptance a single-exit drafter at that layer would see;
- per candidate (l_d, l_i), the layer passes HiSpec actually spends per generated token, counted
  by running it; a pass of a depth range costs its depth (times 1 + ``position_cost`` per extra
  position) plus ``pass_overhead`` layers (the head, the bookkeeping, the launch cost that makes
  many short passes expensive).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from .strategy_folders import load_strategy


@dataclass
class LayerChoice:
    """The suggestion and the numbers behind it."""

    draft_layer: int
    verify_layer: int
    agreement: dict[int, float]
    hispec_cost: dict[tuple[int, int], float] = field(default_factory=dict)
    self_spec_cost: dict[int, float] = field(default_factory=dict)
    greedy_cost: float = 0.0

    def ranked_pairs(self) -> list[tuple[int, int]]:
        """(l_d, l_i) pairs from cheapest to dearest per generated token."""
        return sorted(self.hispec_cost, key=self.hispec_cost.__getitem__)

    def ranked_single_exits(self) -> list[int]:
        """Single-exit drafters from cheapest to dearest per generated token."""
        return sorted(self.self_spec_cost, key=self.self_spec_cost.__getitem__)


def _encode(tokenizer: Any, prompts: Sequence[str], device: torch.device) -> list[torch.Tensor]:
    if not prompts:
        raise ValueError("Give at least one prompt to measure exit layers on.")
    return [tokenizer(prompt, return_tensors="pt").input_ids.to(device) for prompt in prompts]


def measure_exit_agreement(
    model: Any, tokenizer: Any, prompts: Sequence[str], max_new_tokens: int = 32
) -> dict[int, float]:
    """For each exit layer 1..L-1: the fraction of generated positions where its greedy
    prediction equals the full model's."""
    num_layers = model.config.num_hidden_layers
    # On the model's device: the per-exit counts add up device tensors, and reading them back once
    # at the end costs one transfer instead of one per exit and prompt.
    matches = torch.zeros(num_layers, dtype=torch.long, device=model.device)
    positions = 0
    for prompt in _encode(tokenizer, prompts, model.device):
        with torch.no_grad():
            sequence = model.generate(prompt, do_sample=False, max_new_tokens=max_new_tokens)
            output = model(sequence, output_hidden_states=True)
        start = prompt.shape[1] - 1
        full = output.logits[0, start:-1].argmax(-1)
        for layer in range(1, num_layers):
            hidden = output.hidden_states[layer][0, start:-1]
            exit_prediction = model.lm_head(model.model.norm(hidden)).argmax(-1)
            matches[layer] += (exit_prediction == full).sum()
        positions += full.numel()
    counts = matches.tolist()
    return {layer: counts[layer] / positions for layer in range(1, num_layers)}


def _layer_passes_per_token(stats: dict[str, Any], pass_overhead: float, position_cost: float = 0.0) -> float:
    spent = 0.0
    for r in stats["ranges"]:
        depth, extra_positions = r["layers"][1] - r["layers"][0], r["positions"] - r["passes"]
        spent += depth * (r["passes"] + position_cost * extra_positions) + pass_overhead * r["passes"]
    return spent / max(stats["new_tokens"], 1)


def layer_passes_per_token(
    model: Any,
    prompts: Sequence[torch.Tensor],
    strategy: str,
    *,
    max_new_tokens: int = 32,
    pass_overhead: float = 1.0,
    position_cost: float = 0.0,
    **settings: Any,
) -> float:
    """The cost model behind the suggestion: greedy-decode each prompt (token ids, 1 x length) with
    ``strategy`` ("hispec", "self_spec" or "greedy") at ``settings`` and count the layer passes it
    spends per generated token, averaged over the prompts (see ``suggest_exit_layers``)."""
    if not prompts:
        raise ValueError("Give at least one prompt to measure the cost on.")
    generate = load_strategy(model, strategy)
    total = 0.0
    for prompt in prompts:
        output = generate(
            model=model,
            input_ids=prompt,
            do_sample=False,
            max_new_tokens=max_new_tokens,
            return_dict_in_generate=True,
            **settings,
        )
        total += _layer_passes_per_token(output.speculation_stats, pass_overhead, position_cost)
    return total / len(prompts)


def suggest_exit_layers(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    *,
    max_new_tokens: int = 32,
    draft_length: int = 2,
    verify_window: int = 4,
    self_spec_draft_length: int = 4,
    pass_overhead: float = 1.0,
    position_cost: float = 0.0,
    candidates: Sequence[int] | None = None,
) -> LayerChoice:
    """Measure exit agreement, then run HiSpec (and single-exit self-speculation) greedily for
    every candidate exit pair and suggest the pair with the fewest layer passes per token.

    ``position_cost`` is what each position beyond the first adds to a pass, as a share of a
    one-position pass: about 0 where decoding is bound by reading the weights (GPUs), and
    measurably more where the arithmetic itself counts (small models on CPUs).
    ``candidates`` are the exit layers tried (default: every layer for L <= 16, else 12 spread
    over the depth).
    """
    num_layers = model.config.num_hidden_layers
    if num_layers < 3:
        raise ValueError(f"HiSpec needs at least 3 layers (draft < verify < full); the model has {num_layers}.")
    if pass_overhead < 0:
        raise ValueError(f"pass_overhead must be >= 0, got {pass_overhead}.")
    if position_cost < 0:
        raise ValueError(f"position_cost must be >= 0, got {position_cost}.")
    if candidates is None:
        step = max(1, (num_layers - 1) // 12) if num_layers > 16 else 1
        candidates = list(range(1, num_layers, step))
    bad = [layer for layer in candidates if not 1 <= layer < num_layers]
    if bad:
        raise ValueError(f"Candidate exits must lie in 1..{num_layers - 1}; got {bad}.")
    agreement = measure_exit_agreement(model, tokenizer, prompts, max_new_tokens)
    encoded = _encode(tokenizer, prompts, model.device)

    def cost(name: str, **kwargs: Any) -> float:
        return layer_passes_per_token(
            model,
            encoded,
            name,
            max_new_tokens=max_new_tokens,
            pass_overhead=pass_overhead,
            position_cost=position_cost,
            **kwargs,
        )

    hispec_cost = {
        (low, high): cost(
            "hispec", draft_layer=low, verify_layer=high, draft_length=draft_length, verify_window=verify_window
        )
        for low, high in itertools.combinations(sorted(set(candidates)), 2)
    }
    self_spec_cost = {
        layer: cost("self_spec", draft_layer=layer, draft_length=self_spec_draft_length) for layer in candidates
    }
    best = min(hispec_cost, key=hispec_cost.__getitem__)
    return LayerChoice(
        draft_layer=best[0],
        verify_layer=best[1],
        agreement=agreement,
        hispec_cost=hispec_cost,
        self_spec_cost=self_spec_cost,
        greedy_cost=num_layers + pass_overhead,
    )
