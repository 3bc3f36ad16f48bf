"""Spec property 1: greedy HiSpec is token-identical to plain greedy decoding, whatever the exits
and windows, at ~0 and at ~100% acceptance."""

from __future__ import annotations

import itertools

import pytest
import torch

import hfplug

SETTINGS = [
    (draft, verify, draft_length, window)
    for (draft, verify), draft_length, window in itertools.product(
        [(1, 2), (1, 7), (3, 5), (6, 7)], [1, 2, 5], [1, 4, 9]
    )
]


@pytest.mark.parametrize("model_name", ["disagreeing_model", "agreeing_model"])
def test_identical_to_plain_greedy_for_many_settings(model_name, request, hispec_at, prompt):
    model = request.getfixturevalue(model_name)
    expected = model.generate(prompt, do_sample=False, max_new_tokens=24)
    rates = []
    for settings in SETTINGS:
        output = hispec_at(model, prompt, settings, max_new_tokens=24)
        assert torch.equal(output.sequences, expected), f"mismatch for (l_d, l_i, N_d, N_i)={settings}"
        rates.extend(level["rate"] for level in output.speculation_stats["acceptance"])
    mean_rate = sum(rates) / len(rates)
    # The two models really cover the two regimes the spec names.
    if model_name == "agreeing_model":
        assert mean_rate > 0.95
    else:
        assert mean_rate < 0.4


def test_the_agreeing_model_gets_many_tokens_per_full_pass(agreeing_model, hispec_at, prompt):
    output = hispec_at(agreeing_model, prompt, (1, 2, 2, 4), max_new_tokens=40)
    # Two level-1 rounds of 2 drafts + 1 bonus fill the window of 4; all 6 pass, plus the full model's bonus.
    assert output.speculation_stats["tokens_per_full_pass"] > 5


@pytest.mark.parametrize("name, kwargs", [("self_spec", {"draft_layer": 2, "draft_length": 3}), ("greedy", {})])
def test_comparison_strategies_are_lossless_too(name, kwargs, disagreeing_model, strategy, prompt):
    expected = disagreeing_model.generate(prompt, do_sample=False, max_new_tokens=20)
    output = strategy(name)(model=disagreeing_model, input_ids=prompt, do_sample=False, max_new_tokens=20, **kwargs)
    assert torch.equal(output, expected)


def test_runs_through_model_generate_with_trust_remote_code(disagreeing_model, prompt):
    expected = disagreeing_model.generate(prompt, do_sample=False, max_new_tokens=12)
    output = disagreeing_model.generate(
        prompt,
        custom_generate=hfplug.load("generation", "hispec"),
        trust_remote_code=True,
        do_sample=False,
        max_new_tokens=12,
        draft_layer=2,
        verify_layer=4,
    )
    assert torch.equal(output, expected)


def test_float32_model_matches_too(make_deep_model, strategy, prompt, device):
    model = make_deep_model(agreeing=False, dtype=torch.float32, device=device)
    expected = model.generate(prompt, do_sample=False, max_new_tokens=16)
    output = strategy("hispec")(model=model, input_ids=prompt, do_sample=False, max_new_tokens=16)
    assert torch.equal(output, expected)
