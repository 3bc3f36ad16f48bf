"""EOS and max_new_tokens are respected exactly, as plain generate does."""

from __future__ import annotations

import pytest
import torch


@pytest.mark.parametrize("max_new_tokens", [1, 2, 3, 7, 13])
def test_max_new_tokens_exact(max_new_tokens, disagreeing_model, strategy, prompt):
    expected = disagreeing_model.generate(prompt, do_sample=False, max_new_tokens=max_new_tokens)
    output = strategy("hispec")(
        model=disagreeing_model,
        input_ids=prompt,
        do_sample=False,
        max_new_tokens=max_new_tokens,
        draft_layer=1,
        verify_layer=3,
        verify_window=6,
    )
    assert output.shape[1] == prompt.shape[1] + max_new_tokens
    assert torch.equal(output, expected)


@pytest.mark.parametrize("model_name", ["disagreeing_model", "agreeing_model"])
@pytest.mark.parametrize("earliest_stop", [0, 3, 8])
def test_stops_right_after_eos(model_name, earliest_stop, request, greedy_hispec, prompt):
    model = request.getfixturevalue(model_name)
    free_run = model.generate(prompt, do_sample=False, max_new_tokens=20, eos_token_id=None)
    generated = free_run[0, prompt.shape[1] :].tolist()
    # Declare as EOS a token that first appears at or after earliest_stop, so the stop point is known.
    first_new = [j for j in range(earliest_stop, len(generated)) if generated[j] not in generated[:j]]
    assert first_new, f"the free run repeats itself too much: {generated}"
    stop_index = first_new[0]
    eos = generated[stop_index]
    expected = model.generate(prompt, do_sample=False, max_new_tokens=20, eos_token_id=eos)
    output = greedy_hispec(
        model,
        prompt,
        max_new_tokens=20,
        eos_token_id=eos,
        draft_layer=1,
        verify_layer=3,
        draft_length=3,
        verify_window=5,
    ).sequences
    assert output.shape[1] == prompt.shape[1] + stop_index + 1
    assert output[0, -1].item() == eos
    assert torch.equal(output, expected)
