"""Load the dataset a config names: ``asset:NAME``, a local file or folder, or a Hub id."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hfplug.errors import DatasetError

_FILE_BUILDERS = {".json": "json", ".jsonl": "json", ".csv": "csv", ".parquet": "parquet", ".txt": "text"}


def load_split(spec: str, *, config: str | None = None, split: str = "train") -> Any:
    """One split of the dataset named by ``spec`` as a ``datasets.Dataset``."""
    import datasets

    from hfplug.assets import ASSET_PREFIX, get_asset

    if spec.startswith(ASSET_PREFIX):
        asset = get_asset(spec)
        if asset.kind != "dataset":
            raise DatasetError(f"{spec} is a {asset.kind}, not a dataset.")
        spec = asset.path()
    path = Path(spec)
    try:
        if path.is_file():
            builder = _FILE_BUILDERS.get(path.suffix.lower())
            if builder is None:
                raise DatasetError(f"dataset: don't know how to read {path.suffix!r} files ({path}).")
            loaded = datasets.load_dataset(builder, data_files={"train": str(path)})
            return _pick_split(loaded, "train" if split == "train" else split, spec)
        if path.is_dir() and (path / "dataset_info.json").is_file():
            return datasets.load_from_disk(str(path))
        if path.is_dir() and (path / "dataset_dict.json").is_file():
            return _pick_split(datasets.load_from_disk(str(path)), split, spec)
        loaded = datasets.load_dataset(spec, config)
    except DatasetError:
        raise
    except Exception as exc:  # datasets raises many types; the user needs the name and the cause
        raise DatasetError(f"dataset: could not load {spec!r}: {type(exc).__name__}: {exc}") from exc
    return _pick_split(loaded, split, spec)


def _pick_split(loaded: Any, split: str, spec: str) -> Any:
    if split not in loaded:
        raise DatasetError(f"dataset {spec!r} has no split {split!r}; it has: {', '.join(loaded)}.")
    return loaded[split]
