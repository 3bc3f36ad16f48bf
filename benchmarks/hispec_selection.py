"""Honest selection for the HiSpec benchmark: every method gets at most ``budget`` candidate
settings, each is timed on TUNING prompts only, and the fastest there is the method's pick; the
picks are then timed afresh on other (report) prompts by ``hispec_speed.py``. A setting that won
its tuning round by luck gains nothing on the report prompts, so methods with many candidates are
not favoured over those with few.

Which candidates: the speculative methods' grids (exits ranked by the layer-choice helper on the
tuning prompts, times draft lengths / windows) are ordered by the layer-choice cost model (layer
passes per token with the measured ``position_cost``) and cut to the budget; transformers'
``assistant_early_exit`` is ordered by the same cost of our ``self_spec`` at its exit and draft
count (same exits, same drafts); transformers' greedy has two settings (dynamic or static cache)
and our plain loop one. Every candidate's tuning speed is reported.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from hfplug_hispec.layer_choice import LayerChoice, layer_passes_per_token
from hispec_timing import Inputs, timed_runs

TRANSFORMERS_GREEDY = "greedy (transformers)"
ASSISTANT = "assistant_early_exit"
LOOP = "greedy (hfplug loop)"
SELF_SPEC = "self_spec (hfplug)"
HISPEC = "hispec (hfplug)"
METHODS = (TRANSFORMERS_GREEDY, ASSISTANT, LOOP, SELF_SPEC, HISPEC)

TOP_EXITS = 3  # exits (self_spec, assistant) and exit pairs (hispec) taken from the layer-choice ranking
SELF_SPEC_DRAFT_LENGTHS = (1, 2, 3, 4)
ASSISTANT_DRAFTS = (2, 4)
HISPEC_WINDOWS = ((1, 2), (1, 4), (2, 4), (2, 6))  # (N_d, N_i)
COST_TOKENS = 24  # tokens generated per tuning prompt by the cost model


@dataclass
class Candidate:
    """One setting of one method, and how to run it on a prompt."""

    method: str
    setting: str
    run: Callable[[Inputs], Any]
    predicted_cost: float | None = None  # layer passes per token (cost model), where it applies
    float32_run: Callable[[Inputs], Any] | None = None  # our strategies: the same with float32_logits=True


def _ranked(grid: list[tuple[str, dict, float]], budget: int) -> list[tuple[str, dict, float]]:
    return sorted(grid, key=lambda entry: entry[2])[:budget]


def build_candidates(
    model: Any,
    strategies: dict[str, Callable[..., Any]],
    choice: LayerChoice,
    tuning_ids: list[torch.Tensor],
    new_tokens: int,
    position_cost: float,
    budget: int,
) -> list[Candidate]:
    """At most ``budget`` candidates per method (see the module docstring for which)."""
    common = {"do_sample": False, "max_new_tokens": new_tokens, "return_dict_in_generate": True}

    def cost(name: str, **settings: Any) -> float:
        return layer_passes_per_token(
            model, tuning_ids, name, max_new_tokens=COST_TOKENS, position_cost=position_cost, **settings
        )

    def ours(name: str, **settings: Any) -> Callable[[Inputs], Any]:
        return lambda inputs: strategies[name](model=model, **inputs, **settings, **common)

    def ours_float32(name: str, **settings: Any) -> Callable[[Inputs], Any]:
        return ours(name, float32_logits=True, **settings)

    candidates = [
        Candidate(
            TRANSFORMERS_GREEDY,
            f"{cache} cache",
            lambda inputs, c=cache: model.generate(
                **inputs, do_sample=False, max_new_tokens=new_tokens, cache_implementation=c
            ),
        )
        for cache in ("dynamic", "static")[:budget]
    ]
    candidates.append(Candidate(LOOP, "exits [L]", ours("greedy"), float32_run=ours_float32("greedy")))

    exits = choice.ranked_single_exits()[:TOP_EXITS]
    self_spec_cost = {
        (e, n): cost("self_spec", draft_layer=e, draft_length=n)
        for e, n in itertools.product(exits, SELF_SPEC_DRAFT_LENGTHS)
    }
    for e, n in sorted(self_spec_cost, key=self_spec_cost.__getitem__)[:budget]:
        settings = {"draft_layer": e, "draft_length": n}
        candidates.append(
            Candidate(
                SELF_SPEC,
                f"l_d={e}, N_d={n}",
                ours("self_spec", **settings),
                self_spec_cost[e, n],
                ours_float32("self_spec", **settings),
            )
        )
    # transformers' own self-speculation: ordered by what our self_spec costs at the same exit and drafts.
    assistant_grid = [(e, n) for e in exits for n in ASSISTANT_DRAFTS]
    for e, n in sorted(assistant_grid, key=self_spec_cost.__getitem__)[:budget]:
        candidates.append(
            Candidate(
                ASSISTANT,
                f"exit {e}, {n} drafts",
                lambda inputs, e=e, n=n: model.generate(
                    **inputs,
                    do_sample=False,
                    max_new_tokens=new_tokens,
                    assistant_early_exit=e,
                    num_assistant_tokens=n,
                ),
                self_spec_cost[e, n],
            )
        )
    hispec_grid = []
    for (d, i), (n, w) in itertools.product(choice.ranked_pairs()[:TOP_EXITS], HISPEC_WINDOWS):
        settings = {"draft_layer": d, "verify_layer": i, "draft_length": n, "verify_window": w}
        hispec_grid.append((f"l_d={d}, l_i={i}, N_d={n}, N_i={w}", settings, cost("hispec", **settings)))
    for setting, settings, predicted in _ranked(hispec_grid, budget):
        candidates.append(
            Candidate(HISPEC, setting, ours("hispec", **settings), predicted, ours_float32("hispec", **settings))
        )
    return candidates


def select(
    candidates: list[Candidate], tuning_prompts: list[Inputs], device: str, rounds: int, eos_ids: set[int]
) -> tuple[dict[str, Candidate], dict[tuple[str, str], float]]:
    """Time every candidate on the tuning prompts (best of ``rounds`` interleaved rounds) and pick
    each method's fastest. Returns the picks and every candidate's tuning speed."""
    runs = {(c.method, c.setting): c.run for c in candidates}
    speeds, _, _ = timed_runs(runs, tuning_prompts, device, rounds, eos_ids)
    picks: dict[str, Candidate] = {}
    for candidate in candidates:
        current = picks.get(candidate.method)
        key = (candidate.method, candidate.setting)
        if current is None or speeds[key] > speeds[(current.method, current.setting)]:
            picks[candidate.method] = candidate
    return picks, speeds
