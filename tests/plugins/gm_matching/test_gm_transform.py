"""The data transform through the host: config entry, CLI, embeddings column or encoder, cache, provenance."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from datasets import Dataset, load_from_disk
from hfplug_gm_matching import select
from hfplug_gm_matching.embed import TextEncoder, embed_dataset
from hfplug_gm_matching.transform import gm_matching

import hfplug
from hfplug.cli import build_cli
from hfplug.config import build_data_step
from hfplug.data import DataContext
from hfplug.manager import get_manager
from hfplug.model_card import render_model_card

TEXTS = [f"cat number {i} sat on the mat" for i in range(20)] + [
    f"stock {i} rose by {i % 7} percent" for i in range(20)
]


@pytest.fixture
def embedded() -> Dataset:
    rng = np.random.default_rng(1)
    labels = [i % 2 for i in range(60)]
    points = rng.standard_normal((60, 8)) + np.array(labels)[:, None] * 3 + 1
    return Dataset.from_dict({"embedding": points.tolist(), "label": labels, "id": list(range(60))})


def test_a_config_entry_selects_with_rank_and_matches_select(embedded, tmp_path):
    step = build_data_step(0, {"name": "gm_matching", "fraction": 0.2, "label_column": "label"}, get_manager().registry)
    result = step.component.load()(embedded, step.config, DataContext(seed=5, cache_dir=tmp_path))
    assert len(result) == 12 and result["selection_rank"] == list(range(12))
    expected = select(np.array(embedded["embedding"]), 12, labels=embedded["label"], seed=5)
    assert result["id"] == expected.tolist()
    assert hfplug.load("data", "gm_matching") is gm_matching


def test_same_data_and_seed_same_rows_and_an_old_rank_column_is_replaced(embedded, tmp_path):
    step = build_data_step(0, {"name": "gm_matching", "k": 10, "selector": "random"}, get_manager().registry)
    first = gm_matching(embedded, step.config, DataContext(seed=1, cache_dir=tmp_path))
    assert first["id"] == gm_matching(embedded, step.config, DataContext(seed=1, cache_dir=tmp_path))["id"]
    assert first["id"] != gm_matching(embedded, step.config, DataContext(seed=2, cache_dir=tmp_path))["id"]
    again = gm_matching(first, build_data_step(0, {"name": "gm_matching", "k": 4}, get_manager().registry).config)
    assert again["selection_rank"] == [0, 1, 2, 3]


def test_text_is_encoded_once_then_read_from_the_cache(tiny_model_dir, tmp_path):
    data = Dataset.from_dict({"text": TEXTS})
    encoder = TextEncoder(str(tiny_model_dir))
    first = embed_dataset(data, encoder=str(tiny_model_dir), cache_dir=tmp_path, text_encoder=encoder, batch_size=8)
    assert first.shape == (40, 32) and encoder.calls == 5
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1, atol=1e-5)
    second = embed_dataset(data, encoder=str(tiny_model_dir), cache_dir=tmp_path, text_encoder=encoder, batch_size=8)
    assert encoder.calls == 5  # nothing re-encoded
    np.testing.assert_array_equal(first, second)
    changed = Dataset.from_dict({"text": [*TEXTS[:-1], "a different last row"]})
    embed_dataset(changed, encoder=str(tiny_model_dir), cache_dir=tmp_path, text_encoder=encoder, batch_size=8)
    assert encoder.calls == 10  # new content, new cache entry


def test_messages_and_prompt_completion_rows_are_embedded_too(tiny_model_dir, tmp_path):
    chat = Dataset.from_dict({"messages": [[{"role": "user", "content": t}] for t in TEXTS]})
    pairs = Dataset.from_dict({"prompt": TEXTS, "completion": TEXTS})
    step = {"name": "gm_matching", "k": 6, "encoder": str(tiny_model_dir), "progress": False}
    config = build_data_step(0, step, get_manager().registry).config
    assert len(gm_matching(chat, config, DataContext(cache_dir=tmp_path))) == 6
    assert len(gm_matching(pairs, config, DataContext(cache_dir=tmp_path))) == 6


def test_cli_output_pushes_with_a_card_naming_selector_k_encoder_and_seed(embedded, tmp_path):
    source = tmp_path / "data.jsonl"
    embedded.to_json(str(source))
    out = tmp_path / "picked"
    result = CliRunner().invoke(
        build_cli(),
        [
            "data",
            "gm_matching",
            "--dataset",
            str(source),
            "k=8",
            "label_column=label",
            "--output",
            str(out),
            "--seed",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    assert load_from_disk(str(out))["selection_rank"] == list(range(8))
    record = json.loads((out / "hfplug_run.json").read_text())
    settings = record["config"]["data"][0]
    assert (settings["selector"], settings["k"], settings["encoder"]) == ("gm_matching", 8, "asset:all-minilm-l6-v2")
    assert record["config"]["seed"] == 3
    card = render_model_card(out, kind="dataset", repo_id="me/picked")
    assert "hfplug-gm-matching" in card and "selector: gm_matching" in card and "arXiv:2504.00564" in card


def test_pushed_selection_loads_back_with_its_card(embedded, tmp_path, local_hub):
    from datasets import load_dataset
    from huggingface_hub import hf_hub_download

    from hfplug.hub import push

    source = tmp_path / "data.jsonl"
    embedded.to_json(str(source))
    out = tmp_path / "picked"
    result = CliRunner().invoke(
        build_cli(), ["data", "gm_matching", "k=5", "--dataset", str(source), "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    repo = local_hub.repo_id("gm-picked")
    push(out, repo)
    loaded = load_dataset(repo, split="train")
    assert loaded["selection_rank"] == [0, 1, 2, 3, 4] and loaded["id"] == load_from_disk(str(out))["id"]
    card = Path(hf_hub_download(repo, "README.md", repo_type="dataset")).read_text()
    assert "hfplug-gm-matching" in card and "selector: gm_matching" in card and "k: 5" in card
    assert "encoder: asset:all-minilm-l6-v2" in card and "seed: 42" in card


@pytest.mark.slow
def test_the_offline_minilm_encoder_groups_sentences_by_topic(tmp_path):
    data = Dataset.from_dict({"text": TEXTS[:8] + TEXTS[-8:]})
    embeddings = embed_dataset(data, cache_dir=None, progress=False)
    assert embeddings.shape == (16, 384)
    similarity = embeddings @ embeddings.T
    same, across = similarity[:8, :8].mean(), similarity[:8, 8:].mean()
    assert same > across + 0.2
