"""Which Hub repo a model or dataset reference stands for (what a pushed adapter and its card name as the
base model), and ``asset:`` names resolved the same way from Python as in configs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import hfplug.hub
from hfplug.assets import asset_at, get_asset
from hfplug.hub_origin import HubOrigin, base_model_origin, hub_origin

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HFPLUG_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_asset_names_and_hub_references(cache):
    assert hub_origin("asset:smollm2-135m-instruct") == HubOrigin("HuggingFaceTB/SmolLM2-135M-Instruct")
    assert hub_origin("asset:gsm8k") == HubOrigin("openai/gsm8k")
    assert hub_origin("hub:me/model@v2") == HubOrigin("me/model", "v2")
    assert hub_origin("me/model") == HubOrigin("me/model")
    assert hub_origin("asset:not-installed-anywhere") is None


def test_a_hub_cache_snapshot_folder_is_its_repo_at_its_commit(tmp_path):
    snapshot = tmp_path / "hub" / "models--me--tiny-base" / "snapshots" / SHA
    snapshot.mkdir(parents=True)
    assert hub_origin(str(snapshot)) == HubOrigin("me/tiny-base", SHA)
    (snapshot / "config.json").write_text("{}")
    assert hub_origin(str(snapshot / "config.json")) == HubOrigin("me/tiny-base", SHA)


def test_a_prepared_asset_folder_is_found_by_its_marker_even_after_the_cache_moved(tmp_path, cache):
    moved = tmp_path / "elsewhere" / "smollm2"
    moved.mkdir(parents=True)
    (moved / "hfplug_asset.json").write_text(json.dumps({"name": "smollm2-135m-instruct", "revision": 1}))
    assert asset_at(moved) is get_asset("smollm2-135m-instruct")
    assert hub_origin(str(moved)) == HubOrigin("HuggingFaceTB/SmolLM2-135M-Instruct")


def test_a_packaged_asset_folder_is_found_by_its_location(cache):
    folder = get_asset("all-minilm-l6-v2").path()
    assert hub_origin(folder) == HubOrigin("sentence-transformers/all-MiniLM-L6-v2")


def test_a_local_folder_of_unknown_origin_has_none(tmp_path):
    (tmp_path / "mine").mkdir()
    assert hub_origin(str(tmp_path / "mine")) is None
    assert hub_origin(str(tmp_path / "missing")) is None


def test_base_model_origin_prefers_the_run_record_then_the_weights_then_the_config(tmp_path):
    recorded = {"base_model_hub": {"repo_id": "me/a", "revision": SHA}, "base_model": "me/b"}
    assert base_model_origin(recorded, "me/c") == HubOrigin("me/a", SHA)
    assert base_model_origin({"base_model": "me/b"}, "me/c") == HubOrigin("me/c")
    assert base_model_origin({"base_model": "me/b"}, str(tmp_path)) == HubOrigin("me/b")
    assert base_model_origin(None, None) is None


def test_resolve_model_path_from_python_prepares_assets(cache):
    path = hfplug.hub.resolve_model_path("asset:gsm8k")
    assert path == str(cache / "assets" / "gsm8k" / "data.jsonl")
    assert len(Path(path).read_text(encoding="utf-8").splitlines()) == 100
    assert hfplug.hub.resolve_model_path("me/model") == "me/model"
