"""Bad input fails before any model is loaded or anything is generated, with a message naming the problem."""

from __future__ import annotations

import pytest
from datasets import Dataset
from hfplug_context_free import ContextFreeConfig, context_free, context_free_count, mix_context_free

from hfplug.data import DataContext
from hfplug.errors import ConfigError, DatasetError
from hfplug.testing import make_tiny_tokenizer


class NoModelContext(DataContext):
    """A context whose model must not be needed: loading it fails the test."""

    def load_model(self):
        raise AssertionError("the model was loaded before the input was checked")


TASK = Dataset.from_dict({"text": ["Question: What is 2 plus 3? Answer: 5"] * 4})


@pytest.mark.parametrize("ratio", [-0.1, 1.0, 1.5])
def test_ratio_outside_range_is_rejected(ratio):
    with pytest.raises(ConfigError, match="ratio must be in"):
        ContextFreeConfig(ratio=ratio)


def test_tokenizer_without_bos_needs_a_start_token(tmp_path):
    context = NoModelContext(tokenizer=make_tiny_tokenizer(bos=False), cache_dir=tmp_path)
    with pytest.raises(ConfigError, match=r"no BOS token.*start_token"):
        context_free(TASK, ContextFreeConfig(), context)


def test_unknown_start_token_is_rejected(tmp_path, tiny_tokenizer):
    context = NoModelContext(tokenizer=tiny_tokenizer, cache_dir=tmp_path)
    with pytest.raises(ConfigError, match="start_token '<nope>' is not in the tokenizer's vocabulary"):
        context_free(TASK, ContextFreeConfig(start_token="<nope>"), context)


def test_empty_dataset_is_rejected(tmp_path, tiny_tokenizer):
    context = NoModelContext(tokenizer=tiny_tokenizer, cache_dir=tmp_path)
    with pytest.raises(DatasetError, match="empty"):
        context_free(Dataset.from_dict({"text": []}), ContextFreeConfig(), context)


def test_dataset_without_usable_columns_is_rejected(tmp_path, tiny_tokenizer):
    context = NoModelContext(tokenizer=tiny_tokenizer, cache_dir=tmp_path)
    with pytest.raises(
        DatasetError, match=r"^context_free needs .*\(messages\) or \(prompt, completion\) or \(text\).*question"
    ):
        context_free(Dataset.from_dict({"question": ["q"]}), ContextFreeConfig(), context)


def test_mixing_from_python_names_itself_and_the_missing_columns(tiny_tokenizer):
    with pytest.raises(DatasetError, match=r"^context_free needs the column\(s\) \(messages\) or .*question"):
        mix_context_free(Dataset.from_dict({"question": ["q"]}), [], tiny_tokenizer, start_token_id=1, ratio=0.0)


@pytest.mark.parametrize("ratio", [1.0, 1.5])
def test_a_ratio_of_one_or_more_from_python_is_refused_not_divided_by_zero(tiny_tokenizer, ratio):
    """The config refuses it first; the Python API (no config) must refuse it too, naming the range."""
    with pytest.raises(ConfigError, match=r"ratio must be in \[0, 1\)"):
        context_free_count(8, ratio)
    with pytest.raises(ConfigError, match=r"ratio must be in \[0, 1\)"):
        mix_context_free(TASK, [[5]], tiny_tokenizer, start_token_id=1, ratio=ratio)


def test_chat_data_with_a_tokenizer_without_template_is_rejected(tmp_path, tiny_tokenizer):
    tiny_tokenizer.chat_template = None
    chats = Dataset.from_dict({"messages": [[{"role": "user", "content": "hi"}]]})
    context = NoModelContext(tokenizer=tiny_tokenizer, cache_dir=tmp_path)
    with pytest.raises(DatasetError, match="no chat template"):
        context_free(chats, ContextFreeConfig(ratio=0.0), context)


@pytest.mark.parametrize(
    ("field", "value"),
    [("temperature", 0.0), ("top_p", 0.0), ("top_k", -1), ("max_new_tokens", 0), ("num_samples", 0)],
)
def test_invalid_sampling_settings_name_the_field(field, value):
    with pytest.raises(ConfigError, match=field):
        ContextFreeConfig(**{field: value})
