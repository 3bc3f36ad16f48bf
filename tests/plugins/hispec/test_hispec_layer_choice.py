"""The layer-choice helper measures agreement per exit and suggests the cheapest (l_d, l_i)."""

from __future__ import annotations

import pytest
from hfplug_hispec.layer_choice import _layer_passes_per_token, measure_exit_agreement, suggest_exit_layers

PROMPTS = ["Once upon a time", "The quick brown fox"]


def test_agreeing_model_gets_the_shallowest_pair(agreeing_model, tokenizer):
    choice = suggest_exit_layers(agreeing_model, tokenizer, PROMPTS, max_new_tokens=12, candidates=[1, 2, 4, 6])
    assert all(rate > 0.9 for rate in choice.agreement.values())
    # Every exit agrees, so drafting at the shallowest exit and verifying just above it is cheapest.
    assert (choice.draft_layer, choice.verify_layer) == (1, 2) == choice.ranked_pairs()[0]
    assert choice.ranked_single_exits()[0] == 1
    assert choice.hispec_cost[(1, 2)] < choice.greedy_cost


def test_disagreeing_model_costs_more_than_plain_decoding(disagreeing_model, tokenizer):
    choice = suggest_exit_layers(disagreeing_model, tokenizer, PROMPTS, max_new_tokens=12, candidates=[1, 3, 5])
    assert set(choice.hispec_cost) == {(1, 3), (1, 5), (3, 5)}
    # Random exits rarely agree: speculation cannot beat plain decoding, and the numbers say so.
    assert min(choice.hispec_cost.values()) > choice.greedy_cost
    assert 1 <= choice.draft_layer < choice.verify_layer < 8


def test_agreement_is_one_per_exit_below_the_top(disagreeing_model, tokenizer):
    agreement = measure_exit_agreement(disagreeing_model, tokenizer, PROMPTS, max_new_tokens=8)
    assert sorted(agreement) == list(range(1, 8))
    assert all(0.0 <= rate <= 1.0 for rate in agreement.values())


def test_extra_positions_cost_what_position_cost_says():
    stats = {
        "new_tokens": 10,
        "ranges": [
            {"layers": [0, 2], "passes": 8, "positions": 8},  # drafts: one position per pass
            {"layers": [2, 8], "passes": 3, "positions": 12},  # verification: 9 extra positions
        ],
    }
    free = _layer_passes_per_token(stats, pass_overhead=1.0)
    assert free == pytest.approx((2 * 8 + 6 * 3 + 11) / 10)
    assert _layer_passes_per_token(stats, pass_overhead=1.0, position_cost=0.5) == pytest.approx(
        free + 6 * 9 * 0.5 / 10
    )


def test_a_position_cost_raises_every_pairs_cost(agreeing_model, tokenizer):
    kwargs = dict(max_new_tokens=12, candidates=[1, 2, 4])
    free = suggest_exit_layers(agreeing_model, tokenizer, PROMPTS, **kwargs)
    dear = suggest_exit_layers(agreeing_model, tokenizer, PROMPTS, position_cost=1.0, **kwargs)
    assert all(dear.hispec_cost[pair] > free.hispec_cost[pair] for pair in free.hispec_cost)


def test_bad_requests_are_named(disagreeing_model, tiny_model, tokenizer, device):
    with pytest.raises(ValueError, match="at least 3 layers"):
        suggest_exit_layers(tiny_model.to(device), tokenizer, PROMPTS)
    with pytest.raises(ValueError, match=r"Candidate exits must lie in 1..7; got \[8\]"):
        suggest_exit_layers(disagreeing_model, tokenizer, PROMPTS, candidates=[1, 8])
    with pytest.raises(ValueError, match="position_cost must be >= 0"):
        suggest_exit_layers(disagreeing_model, tokenizer, PROMPTS, position_cost=-0.1)
    with pytest.raises(ValueError, match="at least one prompt"):
        suggest_exit_layers(disagreeing_model, tokenizer, [])
