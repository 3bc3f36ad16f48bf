"""Every dataset format and setting, through ``compute_flow_weights`` and the ``flow_weights`` transform: the loss
is the mean over the tokens the format calls the response (checked against transformers' own masked
cross-entropy), the settings reach the pass and the cache key, the defaults are the README's."""

from __future__ import annotations

import logging

import pytest
import torch
from datasets import Dataset
from hfplug_flow.data import FlowWeightsConfig, flow_weights
from hfplug_flow.weighting import add_weight_columns, compute_flow_weights, tokenize_dataset

from hfplug.data import DataContext
from hfplug.errors import ConfigError, DatasetError
from hfplug.testing import make_tiny_tokenizer

CONVERSATIONS = [
    [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello there"},
        {"role": "user", "content": "2+3?"},
        {"role": "assistant", "content": "5"},
    ],
    [{"role": "user", "content": "name a fox"}, {"role": "assistant", "content": "the quick brown fox"}],
    [{"role": "user", "content": "count"}, {"role": "assistant", "content": "0 1 2 3"}],
]


def reference_loss(model, input_ids: list[int], labels: list[int]) -> float:
    with torch.no_grad():  # transformers' own masked mean cross-entropy
        return float(model(input_ids=torch.tensor([input_ids]), labels=torch.tensor([labels])).loss)


def last_turn_loss(model, tokenizer, messages) -> float:
    full = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True)["input_ids"]
    prompt = tokenizer.apply_chat_template(messages[:-1], tokenize=True, return_dict=True, add_generation_prompt=True)
    prompt = prompt["input_ids"]
    assert full[: len(prompt)] == prompt
    return reference_loss(model, full, [-100] * len(prompt) + full[len(prompt) :])


def text_loss(model, tokenizer, text) -> float:
    ids = tokenizer(text + tokenizer.eos_token)["input_ids"]
    return reference_loss(model, ids, ids)


def context_for(folder, tmp_path, **fields) -> DataContext:
    return DataContext(model_name_or_path=str(folder), cache_dir=tmp_path / "cache", **fields)


def cache_entries(tmp_path) -> list:
    return sorted((tmp_path / "cache" / "flow_weights").glob("*.json"))


# ---- formats ---------------------------------------------------------------------------------------------------


def test_a_conversations_loss_is_its_last_assistant_turn(tiny_model, tiny_tokenizer, tiny_model_dir, tmp_path):
    dataset = Dataset.from_dict({"messages": CONVERSATIONS})
    expected = [last_turn_loss(tiny_model, tiny_tokenizer, messages) for messages in CONVERSATIONS]
    direct = compute_flow_weights(tiny_model, tiny_tokenizer, dataset, batch_size=2)
    assert direct["flow_loss"] == pytest.approx(expected, rel=1e-5)
    transformed = flow_weights(dataset, FlowWeightsConfig(batch_size=2), context_for(tiny_model_dir, tmp_path))
    assert transformed["flow_loss"] == pytest.approx(expected, rel=1e-5)


def test_a_plain_text_rows_loss_is_every_token_and_the_text_field_is_honoured(
    tiny_model, tiny_tokenizer, tiny_model_dir, tmp_path
):
    texts = ["the quick brown fox", "0 1 2 3 4", "Shall I compare thee"]
    expected = [text_loss(tiny_model, tiny_tokenizer, text) for text in texts]
    default_field = Dataset.from_dict({"text": texts})
    assert compute_flow_weights(tiny_model, tiny_tokenizer, default_field)["flow_loss"] == pytest.approx(expected)
    tokenized = tokenize_dataset(default_field, tiny_tokenizer, max_length=None)
    assert [ids for ids, _ in tokenized] == [labels for _, labels in tokenized]
    other_field = Dataset.from_dict({"body": texts})
    direct = compute_flow_weights(tiny_model, tiny_tokenizer, other_field, text_field="body")
    assert direct["flow_loss"] == pytest.approx(expected)
    config = FlowWeightsConfig(text_field="body")
    transformed = flow_weights(other_field, config, context_for(tiny_model_dir, tmp_path))
    assert transformed["flow_loss"] == pytest.approx(expected)


def test_conversations_without_a_chat_template_are_an_error_naming_the_transform(tiny_model, tiny_tokenizer):
    tiny_tokenizer.chat_template = None
    with pytest.raises(DatasetError, match=r"^flow_weights: the data is conversational"):
        compute_flow_weights(tiny_model, tiny_tokenizer, Dataset.from_dict({"messages": CONVERSATIONS}))
    with pytest.raises(DatasetError, match=r"^flow_weights needs the column\(s\)"):
        compute_flow_weights(tiny_model, tiny_tokenizer, Dataset.from_dict({"question": ["q"]}))


def test_a_tokenizer_without_a_pad_token_pads_with_eos(tiny_model, tiny_tokenizer, qa_dataset):
    with_pad = compute_flow_weights(tiny_model, tiny_tokenizer, qa_dataset, batch_size=4)["flow_loss"]
    no_pad = make_tiny_tokenizer()
    no_pad.pad_token = None
    assert no_pad.pad_token_id is None
    assert compute_flow_weights(tiny_model, no_pad, qa_dataset, batch_size=4)["flow_loss"] == pytest.approx(with_pad)


def test_a_tokenizer_without_a_pad_token_pads_with_eos_in_the_transform(tiny_model_dir, tmp_path, qa_dataset):
    no_pad = make_tiny_tokenizer()
    no_pad.pad_token = None
    context = context_for(tiny_model_dir, tmp_path, tokenizer=no_pad)
    assert len(flow_weights(qa_dataset, FlowWeightsConfig(use_cache=False), context)["flow_loss"]) == 7


# ---- settings through the transform ----------------------------------------------------------------------------


def test_token_mode_and_nan_policy_reach_the_transform_fresh_and_cached(
    tiny_model, tiny_tokenizer, tiny_model_dir, tmp_path
):
    long_prompt = "Question: What is 2 plus 3? Answer:"
    dataset = Dataset.from_dict({"prompt": [long_prompt, "Q: 2+3? A:"], "completion": [" 5", " 5"]})
    max_length = len(tiny_tokenizer(long_prompt)["input_ids"])  # the first row loses its whole response
    config = FlowWeightsConfig(mode="token", nan_policy="zero", max_length=max_length)
    expected = compute_flow_weights(
        tiny_model, tiny_tokenizer, dataset, mode="token", nan_policy="zero", max_length=max_length
    )
    for _ in ("fresh", "cached"):
        context = context_for(tiny_model_dir, tmp_path)
        weighted = flow_weights(dataset, config, context)
        assert weighted["flow_weight"][0] == 0.0 and weighted["flow_weight"][1] == pytest.approx(
            expected["flow_weight"][1]
        )
        assert weighted["input_ids"] == expected["input_ids"] and weighted["labels"] == expected["labels"]
        assert weighted["flow_token_weights"] == [pytest.approx(row) for row in expected["flow_token_weights"]]
    assert context.model is None and len(cache_entries(tmp_path)) == 1  # the second pass came from the cache


def test_use_cache_false_neither_reads_nor_writes_entries(tiny_model_dir, tmp_path, qa_dataset):
    flow_weights(qa_dataset, FlowWeightsConfig(use_cache=False), context_for(tiny_model_dir, tmp_path))
    assert cache_entries(tmp_path) == []
    flow_weights(qa_dataset, FlowWeightsConfig(), context_for(tiny_model_dir, tmp_path))
    entries = cache_entries(tmp_path)
    context = context_for(tiny_model_dir, tmp_path)
    flow_weights(qa_dataset, FlowWeightsConfig(use_cache=False), context)
    assert context.model is not None  # the model ran although an entry was there
    assert cache_entries(tmp_path) == entries


def test_a_cache_hit_is_logged_with_the_entry(tiny_model_dir, tmp_path, qa_dataset, caplog):
    flow_weights(qa_dataset, FlowWeightsConfig(), context_for(tiny_model_dir, tmp_path))
    (entry,) = cache_entries(tmp_path)
    with caplog.at_level(logging.INFO, logger="hfplug_flow.data"):
        flow_weights(qa_dataset, FlowWeightsConfig(), context_for(tiny_model_dir, tmp_path))
    assert [r.getMessage() for r in caplog.records] == [f"flow_weights: using cached base-model losses {entry}"]


def test_another_tokenizer_gets_its_own_entry(tiny_model, tiny_model_dir, tmp_path, qa_dataset):
    """The context may carry a tokenizer that is not the one in the model folder: it is part of the key."""
    flow_weights(qa_dataset, FlowWeightsConfig(), context_for(tiny_model_dir, tmp_path))
    other = make_tiny_tokenizer(vocab_size=300)  # other merges: other tokens, other losses
    weighted = flow_weights(qa_dataset, FlowWeightsConfig(), context_for(tiny_model_dir, tmp_path, tokenizer=other))
    expected = compute_flow_weights(tiny_model, other, qa_dataset)["flow_loss"]
    assert weighted["flow_loss"] == pytest.approx(expected)
    assert len(cache_entries(tmp_path)) == 2


def test_the_key_covers_the_columns_the_losses_are_computed_from(tiny_model, tiny_tokenizer, tiny_model_dir, tmp_path):
    """Rows with prompt/completion AND messages are scored on prompt/completion (tokenize_sft_row prefers it), so
    that is what the data fingerprint must hash: new completions beside unchanged messages are new losses."""
    prompts = ["Question: What is 2 plus 3? Answer:"] * 3
    dataset = Dataset.from_dict({"prompt": prompts, "completion": [" 5", " 6", " 7"], "messages": CONVERSATIONS})
    flow_weights(dataset, FlowWeightsConfig(), context_for(tiny_model_dir, tmp_path))
    edited = Dataset.from_dict(
        {"prompt": prompts, "completion": [" the quick brown fox"] * 3, "messages": CONVERSATIONS}
    )
    weighted = flow_weights(edited, FlowWeightsConfig(), context_for(tiny_model_dir, tmp_path))
    expected = compute_flow_weights(tiny_model, tiny_tokenizer, edited)["flow_loss"]
    assert weighted["flow_loss"] == pytest.approx(expected)
    assert len(cache_entries(tmp_path)) == 2


class DeviceRecorder:
    def __init__(self):
        self.devices = []

    def __call__(self, device):
        self.devices.append(device)


@pytest.mark.parametrize(("device", "expected"), [("auto", "cuda"), ("cpu", "cpu")])
def test_the_pass_runs_on_the_configured_device(
    tiny_model, tiny_model_dir, tmp_path, qa_dataset, monkeypatch, device, expected
):
    """'auto' means cuda when there is one (faked here: the model's .to is recorded, the pass stays on CPU)."""
    recorder = DeviceRecorder()
    monkeypatch.setattr(tiny_model, "to", recorder)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    context = context_for(tiny_model_dir, tmp_path, model=tiny_model)
    flow_weights(qa_dataset, FlowWeightsConfig(device=device, use_cache=False), context)
    assert recorder.devices == [expected]


# ---- defaults --------------------------------------------------------------------------------------------------


def test_compute_flow_weights_defaults(tiny_model, tiny_tokenizer):
    """batch_size 8, max_length 1024 (keep the start), sequence mode, nan_policy error, text column 'text'."""
    rows_seen = []
    handle = tiny_model.register_forward_pre_hook(
        lambda module, args, kwargs: rows_seen.append(tuple(kwargs["input_ids"].shape)), with_kwargs=True
    )
    long_text = " ".join(str(i % 10) for i in range(1200))
    dataset = Dataset.from_dict({"text": [long_text] + ["the quick brown fox"] * 8})
    try:
        weighted = compute_flow_weights(tiny_model, tiny_tokenizer, dataset)
    finally:
        handle.remove()
    assert len(tiny_tokenizer(long_text)["input_ids"]) > 1024
    assert [rows for rows, _ in rows_seen] == [8, 1] and rows_seen[-1][1] == 1024
    assert "flow_token_weights" not in weighted.column_names
    tokenized = tokenize_dataset(dataset.select([0]), tiny_tokenizer, max_length=None)
    with pytest.raises(DatasetError, match="NaN or infinite for 1 sample"):
        add_weight_columns(dataset.select([0]), tokenized, compute_base_with_a_missing_loss())


def compute_base_with_a_missing_loss():
    from hfplug_flow.weighting import BaseLosses

    return BaseLosses(sample_losses=[float("nan")], token_losses=[[0.0]])


def test_add_weight_columns_replaces_earlier_weights_and_checks_token_alignment(tiny_tokenizer, qa_dataset):
    from hfplug_flow.weighting import BaseLosses

    tokenized = tokenize_dataset(qa_dataset, tiny_tokenizer, max_length=None)
    token_losses = [[0.0] + [1.0] * (len(ids) - 1) for ids, _ in tokenized]
    base = BaseLosses(sample_losses=[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], token_losses=token_losses)
    once = add_weight_columns(qa_dataset, tokenized, base)
    again = add_weight_columns(once, tokenized, base, mode="token")  # re-weighting a weighted set
    assert again["flow_weight"] == once["flow_weight"] and again.num_columns == once.num_columns + 3
    short_row = [*token_losses[:-1], token_losses[-1][:-1]]
    with pytest.raises(ValueError, match="zip"):
        add_weight_columns(qa_dataset, tokenized, BaseLosses(base.sample_losses, short_row), mode="token")
    with pytest.raises(ValueError, match="zip"):
        add_weight_columns(qa_dataset, tokenized, BaseLosses(base.sample_losses, [*token_losses, [0.0]]), mode="token")


@pytest.mark.parametrize("fields", [{"batch_size": 1}, {"max_length": 2}, {"max_length": None}])
def test_smallest_valid_settings_are_accepted(fields):
    FlowWeightsConfig(**fields)


def test_a_max_length_below_two_is_refused():
    with pytest.raises(ConfigError, match="max_length must be >= 2"):
        FlowWeightsConfig(max_length=1)
