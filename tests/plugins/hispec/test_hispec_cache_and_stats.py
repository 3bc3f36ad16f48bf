"""Spec properties 2 and 3: the shared KV cache ends exactly as a fresh forward would leave it,
and the counters add up (full passes <= commits, acceptance per level, tokens per full pass)."""

from __future__ import annotations

import pytest
import torch


@pytest.mark.parametrize("model_name", ["disagreeing_model", "agreeing_model"])
@pytest.mark.parametrize("settings", [(1, 4, 2, 4), (2, 3, 3, 5)])
def test_cache_after_generation_equals_a_fresh_forward(model_name, settings, request, hispec_at, prompt, cache_of):
    model = request.getfixturevalue(model_name)
    output = hispec_at(model, prompt, settings, max_new_tokens=21)
    sequence = output.sequences
    fresh = cache_of(model(sequence[:, :-1], use_cache=True))
    assert len(cache_of(output).layers) == len(fresh.layers) == model.config.num_hidden_layers
    for index, (ours, reference) in enumerate(zip(cache_of(output).layers, fresh.layers, strict=True)):
        assert ours.keys.shape == reference.keys.shape, f"layer {index}: cached length differs"
        torch.testing.assert_close(ours.keys, reference.keys, msg=f"layer {index} keys")
        torch.testing.assert_close(ours.values, reference.values, msg=f"layer {index} values")


def test_counters_are_consistent(disagreeing_model, greedy_hispec, prompt):
    output = greedy_hispec(disagreeing_model, prompt, max_new_tokens=30, draft_layer=2, verify_layer=5)
    stats = output.speculation_stats
    assert stats["exits"] == [2, 5, 8]
    assert [r["layers"] for r in stats["ranges"]] == [[0, 2], [2, 5], [5, 8]]
    assert stats["new_tokens"] == output.sequences.shape[1] - prompt.shape[1] == 30
    assert 1 <= stats["full_passes"] <= stats["commits"]
    assert stats["tokens_per_full_pass"] == pytest.approx(30 / stats["full_passes"])
    verify_level, full_level = stats["acceptance"]
    assert (verify_level["verifier_exit"], full_level["verifier_exit"]) == (5, 8)
    for level in stats["acceptance"]:
        assert 0 <= level["accepted"] <= level["proposed"]
        assert level["rate"] == pytest.approx(level["accepted"] / level["proposed"])
    # Each range runs at least as often as the range above it: a deeper range only catches up.
    passes = [r["passes"] for r in stats["ranges"]]
    assert passes[0] >= passes[1] >= passes[2]
    # Committed tokens: each full pass keeps its accepted prefix plus one token (the last may be cut by max_new_tokens).
    assert full_level["accepted"] + full_level["rounds"] + 1 >= 30


def test_hidden_states_are_reused_not_recomputed(agreeing_model, greedy_hispec, prompt):
    """With every draft accepted, each range computes each position exactly once."""
    output = greedy_hispec(agreeing_model, prompt, max_new_tokens=24, draft_layer=1, verify_layer=2)
    stats = output.speculation_stats
    assert all(level["accepted"] == level["proposed"] for level in stats["acceptance"])
    positions = [r["positions"] for r in stats["ranges"]]
    total = prompt.shape[1] + stats["new_tokens"]
    # No range ever saw a position twice, and none ran past what was generated (+ the last window's overshoot).
    assert positions[0] == positions[1] == positions[2]
    assert total - 1 <= positions[0] <= total + 8
