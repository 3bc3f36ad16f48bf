"""Bad input fails with an error that names the limit, never a silent fallback."""

from __future__ import annotations

import pytest
import torch


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"draft_layer": 4, "verify_layer": 4}, "draft_layer=4 must be < verify_layer=4"),
        ({"draft_layer": 5, "verify_layer": 3}, "draft_layer=5 must be < verify_layer=3"),
        ({"draft_layer": 2, "verify_layer": 8}, r"verify_layer=8 must be < the model's number of layers \(8\)"),
        ({"draft_layer": 0, "verify_layer": 3}, "draft_layer must be an integer >= 1"),
        ({"draft_length": 0}, "draft_length must be an integer >= 1"),
        ({"verify_window": 0}, "verify_window must be an integer >= 1"),
        ({"num_beams": 2}, "num_beams=2 is not supported"),
        ({"repetition_penalty": 1.3}, "repetition_penalty=1.3 is not supported"),
        ({"output_scores": True, "return_dict_in_generate": True}, "output_scores=True is not supported"),
        ({"not_a_generate_argument": 1}, "Unknown or unsupported generate.. arguments: not_a_generate_argument"),
    ],
)
def test_bad_settings_are_named(kwargs, message, disagreeing_model, strategy, prompt):
    with pytest.raises(ValueError, match=message):
        strategy("hispec")(model=disagreeing_model, input_ids=prompt, max_new_tokens=4, **kwargs)


def test_self_spec_exit_must_be_below_the_full_model(disagreeing_model, strategy, prompt):
    with pytest.raises(ValueError, match=r"draft_layer=8 must be < the model's number of layers \(8\)"):
        strategy("self_spec")(model=disagreeing_model, input_ids=prompt, draft_layer=8)


def _padded_mask(prompt, pad_columns):
    mask = torch.ones_like(prompt).repeat(2, 1)
    for column in pad_columns:
        mask[1, column] = 0
    return mask


@pytest.mark.parametrize(
    "pad_columns, message",
    [
        ([-1], "attention_mask must be left padding"),  # right padding
        ([1], "attention_mask must be left padding"),  # a hole inside the prompt
        (list(range(13)), "A row of the batch is all padding"),
    ],
)
def test_padding_other_than_left_is_named(pad_columns, message, disagreeing_model, strategy, prompt):
    assert prompt.shape[1] == 13
    mask = _padded_mask(prompt, pad_columns)
    with pytest.raises(ValueError, match=message):
        strategy("hispec")(model=disagreeing_model, input_ids=prompt.repeat(2, 1), attention_mask=mask)


def test_a_mask_of_another_shape_is_named(disagreeing_model, strategy, prompt, device):
    mask = torch.ones(1, 12, device=device)
    with pytest.raises(ValueError, match=r"attention_mask has shape \(1, 12\), input_ids \(1, 13\)"):
        strategy("hispec")(model=disagreeing_model, input_ids=prompt, attention_mask=mask)


def test_an_empty_batch_is_named(disagreeing_model, strategy, prompt):
    with pytest.raises(ValueError, match="The batch is empty"):
        strategy("hispec")(model=disagreeing_model, input_ids=prompt[:0])


def test_a_model_with_too_few_layers_for_the_defaults_is_refused(tiny_model, strategy, prompt, device):
    # 2 layers leave no room for a draft exit below a verify exit below the full model.
    with pytest.raises(ValueError, match="must be < the model's number of layers"):
        strategy("hispec")(model=tiny_model.to(device), input_ids=prompt, max_new_tokens=4)


def test_unsupported_architecture_is_named(strategy, prompt, device):
    from transformers import GPT2Config, GPT2LMHeadModel

    model = GPT2LMHeadModel(GPT2Config(vocab_size=400, n_embd=16, n_layer=4, n_head=2)).to(device).eval()
    with pytest.raises(ValueError, match=r"supports the architectures llama, qwen2.*got model_type='gpt2'"):
        strategy("hispec")(model=model, input_ids=prompt, max_new_tokens=4, draft_layer=1, verify_layer=2)
