"""FLOW's weights from the frozen model: the spec's properties, on a tiny random model."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from hfplug_flow.weighting import compute_flow_weights, weights_from_losses

from hfplug.errors import DatasetError
from hfplug.sft_tokens import tokenize_sft_row


def test_median_sample_gets_exactly_e_to_the_minus_one():
    losses = [3.1, 0.4, 2.2, 7.9, 1.3]
    tau, weights = weights_from_losses(losses)
    assert tau == 2.2
    assert weights[2] == math.exp(-1)


def test_weights_on_a_model_are_in_zero_one_and_fall_with_the_loss(tiny_model, tiny_tokenizer, qa_dataset):
    weighted = compute_flow_weights(tiny_model, tiny_tokenizer, qa_dataset, batch_size=3)
    losses, weights = weighted["flow_loss"], weighted["flow_weight"]
    median_row = sorted(range(len(losses)), key=losses.__getitem__)[len(losses) // 2]
    assert weights[median_row] == math.exp(-1)
    assert all(0 < w <= 1 for w in weights)
    by_loss = [weights[i] for i in sorted(range(len(losses)), key=losses.__getitem__)]
    assert all(a >= b for a, b in itertools.pairwise(by_loss))
    assert weighted["prompt"] == qa_dataset["prompt"]  # the original columns are kept


def test_sample_loss_is_the_mean_over_response_tokens(tiny_model, tiny_tokenizer, qa_dataset):
    weighted = compute_flow_weights(tiny_model, tiny_tokenizer, qa_dataset, batch_size=4)
    example = qa_dataset[1]
    prompt_ids = tiny_tokenizer(example["prompt"], add_special_tokens=False)["input_ids"]
    full_ids = tiny_tokenizer(example["prompt"] + example["completion"] + tiny_tokenizer.eos_token)["input_ids"]
    labels = [-100] * len(prompt_ids) + full_ids[len(prompt_ids) :]
    with torch.no_grad():  # transformers' own masked mean cross-entropy, as the reference
        reference = tiny_model(input_ids=torch.tensor([full_ids]), labels=torch.tensor([labels])).loss
    assert weighted["flow_loss"][1] == pytest.approx(float(reference), rel=1e-5)


def test_batching_does_not_change_the_losses(tiny_model, tiny_tokenizer, qa_dataset):
    one = compute_flow_weights(tiny_model, tiny_tokenizer, qa_dataset, batch_size=1)["flow_loss"]
    many = compute_flow_weights(tiny_model, tiny_tokenizer, qa_dataset, batch_size=5)["flow_loss"]
    assert one == pytest.approx(many, rel=1e-5)


def test_one_no_grad_forward_per_sample(tiny_model, tiny_tokenizer, qa_dataset):
    rows_seen, grad_enabled = [], []

    def count(module, args, kwargs):
        rows_seen.append(kwargs["input_ids"].shape[0])
        grad_enabled.append(torch.is_grad_enabled())

    handle = tiny_model.register_forward_pre_hook(count, with_kwargs=True)
    compute_flow_weights(tiny_model, tiny_tokenizer, qa_dataset, batch_size=3)
    handle.remove()
    assert sum(rows_seen) == len(qa_dataset)
    assert rows_seen == [3, 3, 1]
    assert not any(grad_enabled)


def tokenize_with_labels(row, tokenizer, max_length):
    return tokenize_sft_row(row, tokenizer, max_length=max_length, messages_loss="last_assistant")


def test_prompt_tokens_are_masked_for_every_format(tiny_tokenizer):
    _, labels = tokenize_with_labels({"prompt": "Question: 2+3?", "completion": " 5"}, tiny_tokenizer, max_length=None)
    prompt_length = len(tiny_tokenizer("Question: 2+3?", add_special_tokens=False)["input_ids"])
    assert labels[:prompt_length] == [-100] * prompt_length and -100 not in labels[prompt_length:]
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "2+3?"},
        {"role": "assistant", "content": "5"},
    ]
    _, labels = tokenize_with_labels({"messages": messages}, tiny_tokenizer, max_length=None)
    response = tiny_tokenizer.decode([t for t in labels if t != -100])
    assert response == "5<|im_end|>\n"
    _, labels = tokenize_with_labels({"text": "plain text"}, tiny_tokenizer, max_length=3)
    assert len(labels) == 3 and -100 not in labels


def test_token_mode_weights_use_the_same_tau(tiny_model, tiny_tokenizer, qa_dataset):
    weighted = compute_flow_weights(tiny_model, tiny_tokenizer, qa_dataset, mode="token")
    tau, _ = weights_from_losses(weighted["flow_loss"])
    row = weighted[2]
    response = [i for i, label in enumerate(row["labels"]) if label != -100]
    token_weights = [row["flow_token_weights"][i] for i in response]
    assert all(0 < w <= 1 for w in token_weights)
    # The sample's mean token loss, recovered from its token weights, is the sample loss.
    mean_loss = sum(-tau * math.log(w) for w in token_weights) / len(token_weights)
    assert mean_loss == pytest.approx(row["flow_loss"], rel=1e-5)
    assert all(row["flow_token_weights"][i] == 0 for i in range(len(row["labels"])) if row["labels"][i] == -100)


def test_nan_losses_are_an_error_naming_the_rows_or_get_weight_zero():
    with pytest.raises(DatasetError, match=r"rows 1, 3"):
        weights_from_losses([1.0, float("nan"), 2.0, float("inf"), 3.0])
    tau, weights = weights_from_losses([1.0, float("nan"), 2.0, 3.0, 4.0], nan_policy="zero")
    assert tau == 2.5 and weights[1] == 0.0


def test_samples_without_response_tokens_are_named(tiny_model, tiny_tokenizer, qa_dataset):
    # max_length shorter than the prompt: no completion token is left to score.
    with pytest.raises(DatasetError, match="NaN or infinite for 7 sample"):
        compute_flow_weights(tiny_model, tiny_tokenizer, qa_dataset, max_length=4)


def test_a_zero_median_loss_is_an_error():
    with pytest.raises(DatasetError, match="median base-model loss is 0"):
        weights_from_losses([0.0, 0.0, 1.0])
