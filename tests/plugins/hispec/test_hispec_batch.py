"""Batches of left-padded prompts: greedy output is token-identical to transformers' batched greedy
(and to decoding each prompt alone), rows that end early are padded as transformers pads them, the
cache holds what a fresh forward computes. (Sampling in a batch: test_hispec_sampling_exact.py.)"""

from __future__ import annotations

import pytest
import torch

TEXTS = ["Once upon a time", "The dog", "A cat sat on the mat and looked at the door"]
SETTINGS = [(1, 2, 1, 1), (1, 7, 2, 4), (3, 5, 5, 9), (6, 7, 2, 2)]


@pytest.fixture(scope="module")
def batch(tokenizer, device):
    tokenizer.padding_side = "left"
    try:
        return tokenizer(TEXTS, return_tensors="pt", padding=True).to(device)
    finally:
        tokenizer.padding_side = "right"


@pytest.mark.parametrize("model_name", ["disagreeing_model", "agreeing_model"])
def test_identical_to_batched_and_to_single_prompt_greedy(model_name, request, greedy_hispec, hispec_at, batch):
    model = request.getfixturevalue(model_name)
    assert (batch.attention_mask == 0).any(), "the batch must really be padded"
    expected = model.generate(**batch, do_sample=False, max_new_tokens=16, eos_token_id=None)
    for settings in SETTINGS:
        output = hispec_at(
            model, batch.input_ids, settings, attention_mask=batch.attention_mask, max_new_tokens=16, eos_token_id=None
        )
        assert torch.equal(output.sequences, expected), f"mismatch for (l_d, l_i, N_d, N_i)={settings}"
    for row, mask in zip(expected, batch.attention_mask, strict=True):
        alone = row[mask.bool().logical_not().sum() :][None, : int(mask.sum())]
        single = greedy_hispec(model, alone, max_new_tokens=16, eos_token_id=None, draft_layer=1, verify_layer=3)
        assert torch.equal(single.sequences[0], row[-single.sequences.shape[1] :])


def test_rows_that_end_early_are_padded_like_transformers(disagreeing_model, hispec_at, batch):
    length = batch.input_ids.shape[1]
    free_run = disagreeing_model.generate(**batch, do_sample=False, max_new_tokens=20, eos_token_id=None)
    generated = free_run[:, length:].tolist()
    # As EOS, a token that row 0 generates at step k and no other row generates by step k + 1.
    first = generated[0]
    stop = next(
        (
            k
            for k, token in enumerate(first[:10])
            if token not in first[:k] and all(token not in o[: k + 2] for o in generated[1:])
        ),
        None,
    )
    assert stop is not None, f"no token ends row 0 alone: {generated}"
    eos, pad = first[stop], 0
    expected = disagreeing_model.generate(
        **batch, do_sample=False, max_new_tokens=20, eos_token_id=eos, pad_token_id=pad
    )
    assert expected.shape[1] >= length + stop + 2 and (expected[0, length + stop + 1 :] == pad).all()
    for settings in SETTINGS:
        output = hispec_at(
            disagreeing_model,
            batch.input_ids,
            settings,
            attention_mask=batch.attention_mask,
            max_new_tokens=20,
            eos_token_id=eos,
            pad_token_id=pad,
        )
        assert torch.equal(output.sequences, expected), f"mismatch for (l_d, l_i, N_d, N_i)={settings}"


@pytest.mark.parametrize("model_name", ["disagreeing_model", "agreeing_model"])
def test_cache_equals_a_fresh_forward_on_every_real_column(model_name, request, hispec_at, batch, cache_of):
    model = request.getfixturevalue(model_name)
    output = hispec_at(
        model, batch.input_ids, (2, 5, 2, 4), attention_mask=batch.attention_mask, max_new_tokens=15, eos_token_id=None
    )
    sequences = output.sequences
    extension = torch.ones(3, sequences.shape[1] - batch.input_ids.shape[1], device=sequences.device)
    mask = torch.cat([batch.attention_mask, extension], dim=1)
    mask = mask[:, :-1].long()
    # A plain forward numbers positions by column; generation numbers them from each row's first token.
    positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
    fresh = cache_of(model(sequences[:, :-1], attention_mask=mask, position_ids=positions, use_cache=True))
    real = mask.bool()
    for index, (ours, reference) in enumerate(zip(cache_of(output).layers, fresh.layers, strict=True)):
        assert ours.keys.shape == reference.keys.shape
        # Pad columns are never attended to, so only the real ones must agree.
        for row in range(3):
            columns = real[row]
            torch.testing.assert_close(ours.keys[row][:, columns], reference.keys[row][:, columns], msg=f"{index}")
            torch.testing.assert_close(ours.values[row][:, columns], reference.values[row][:, columns])


def test_statistics_count_every_row(agreeing_model, hispec_at, batch):
    output = hispec_at(
        agreeing_model,
        batch.input_ids,
        (1, 2, 2, 4),
        attention_mask=batch.attention_mask,
        max_new_tokens=12,
        eos_token_id=None,
    )
    stats = output.speculation_stats
    assert stats["batch_size"] == 3
    assert stats["new_tokens"] == 3 * 12
    assert stats["tokens_per_full_pass"] == pytest.approx(12 / stats["full_passes"])
    for level in stats["acceptance"]:
        assert 0 <= level["accepted"] <= level["proposed"]


def test_plain_decoding_makes_one_token_per_full_pass_in_every_live_row(disagreeing_model, strategy, batch):
    generated = disagreeing_model.generate(**batch, do_sample=False, max_new_tokens=12, eos_token_id=None)
    eos = generated[0, batch.input_ids.shape[1] + 2].item()  # row 0 ends by its third token
    output = strategy("greedy")(
        model=disagreeing_model,
        **batch,
        max_new_tokens=12,
        eos_token_id=eos,
        pad_token_id=0,
        return_dict_in_generate=True,
    )
    stats = output.speculation_stats
    assert stats["new_tokens"] < 3 * stats["full_passes"], "some row ended early"
    # Rows that have ended do not count, so plain decoding stays at exactly one token per pass.
    assert stats["tokens_per_full_pass"] == 1.0


@pytest.mark.parametrize("name, kwargs", [("self_spec", {"draft_layer": 2, "draft_length": 3}), ("greedy", {})])
def test_comparison_strategies_take_batches_too(name, kwargs, disagreeing_model, strategy, batch):
    expected = disagreeing_model.generate(**batch, do_sample=False, max_new_tokens=12, eos_token_id=None)
    output = strategy(name)(
        model=disagreeing_model, **batch, do_sample=False, max_new_tokens=12, eos_token_id=None, **kwargs
    )
    assert torch.equal(output, expected)
