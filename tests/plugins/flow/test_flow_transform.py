"""The ``flow_weights`` data transform: by name, through the host's DataContext, with its disk cache."""

from __future__ import annotations

import pytest
from datasets import Dataset
from hfplug_flow.data import FlowWeightsConfig, flow_weights

import hfplug
from hfplug.data import DataContext
from hfplug.errors import ConfigError, DatasetError


def context_for(folder, tmp_path) -> DataContext:
    return DataContext(model_name_or_path=str(folder), cache_dir=tmp_path / "cache")


def test_transform_loads_by_name():
    assert hfplug.load("data", "flow_weights") is flow_weights
    assert hfplug.load_config("data", "flow_weights") is FlowWeightsConfig


def test_second_run_reads_the_cache_without_loading_the_model(tiny_model_dir, tmp_path, qa_dataset):
    first = flow_weights(qa_dataset, FlowWeightsConfig(), context_for(tiny_model_dir, tmp_path))
    entries = list((tmp_path / "cache" / "flow_weights").glob("*.json"))
    assert len(entries) == 1

    fresh = context_for(tiny_model_dir, tmp_path)
    second = flow_weights(qa_dataset, FlowWeightsConfig(), fresh)
    assert fresh.model is None  # the cache answered; no forward pass
    assert second["flow_weight"] == first["flow_weight"]


def test_corrupt_cache_is_ignored_and_rewritten(tiny_model_dir, tmp_path, qa_dataset):
    first = flow_weights(qa_dataset, FlowWeightsConfig(), context_for(tiny_model_dir, tmp_path))
    (entry,) = (tmp_path / "cache" / "flow_weights").glob("*.json")
    entry.write_text(entry.read_text()[:40])  # a partial write
    again = flow_weights(qa_dataset, FlowWeightsConfig(), context_for(tiny_model_dir, tmp_path))
    assert again["flow_weight"] == first["flow_weight"]
    assert entry.read_text().endswith("}")  # rewritten in full


def test_other_data_or_other_model_gets_another_entry(tiny_model_dir, tmp_path, qa_dataset, tiny_tokenizer):
    flow_weights(qa_dataset, FlowWeightsConfig(), context_for(tiny_model_dir, tmp_path))
    flow_weights(qa_dataset.select(range(5)), FlowWeightsConfig(), context_for(tiny_model_dir, tmp_path))
    from hfplug.testing import make_tiny_model

    other = tmp_path / "other"
    make_tiny_model(tiny_tokenizer, seed=1).save_pretrained(other)
    tiny_tokenizer.save_pretrained(other)
    flow_weights(qa_dataset, FlowWeightsConfig(), context_for(other, tmp_path))
    assert len(list((tmp_path / "cache" / "flow_weights").glob("*.json"))) == 3


def test_bad_dataset_errors_leave_no_cache_entry(tiny_model_dir, tmp_path, qa_dataset):
    with pytest.raises(DatasetError, match=r"flow_weights needs the column\(s\).*question"):
        flow_weights(Dataset.from_dict({"question": ["q"]}), FlowWeightsConfig(), context_for(tiny_model_dir, tmp_path))
    with pytest.raises(DatasetError, match="empty"):
        flow_weights(qa_dataset.select([]), FlowWeightsConfig(), context_for(tiny_model_dir, tmp_path))
    with pytest.raises(DatasetError, match="NaN or infinite"):
        flow_weights(qa_dataset, FlowWeightsConfig(max_length=4), context_for(tiny_model_dir, tmp_path))
    assert not list((tmp_path / "cache").rglob("*.json"))


def test_missing_base_model_is_named(tmp_path, qa_dataset):
    with pytest.raises(DatasetError, match="model_name_or_path"):
        flow_weights(qa_dataset, FlowWeightsConfig(), DataContext(cache_dir=tmp_path))


@pytest.mark.parametrize(
    ("fields", "named"),
    [({"mode": "word"}, "mode"), ({"nan_policy": "skip"}, "nan_policy"), ({"batch_size": 0}, "batch")],
)
def test_bad_transform_settings_are_named(fields, named):
    with pytest.raises(ConfigError, match=named):
        FlowWeightsConfig(**fields)
