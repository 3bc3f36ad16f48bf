"""Load the dataset a config names: ``asset:NAME``, a local file or folder, or a Hub id."""

from __future__ import annotations

import json
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
            loaded = _load_file(builder, path)
            if builder == "json":
                loaded = _without_guessed_dates(loaded, path)
            return _pick_split(loaded, "train" if split == "train" else split, spec)
        if path.is_dir() and (path / "dataset_info.json").is_file():
            return datasets.load_from_disk(str(path))
        if path.is_dir() and (path / "dataset_dict.json").is_file():
            return _pick_split(datasets.load_from_disk(str(path)), split, spec)
        loaded = datasets.load_dataset(spec, config)
    except DatasetError:
        raise
    except Exception as exc:  # datasets raises many types; the user needs the name and the cause
        raise DatasetError(f"dataset: could not load {spec!r}: {_describe(exc)}") from exc
    return _pick_split(loaded, split, spec)


def _load_file(builder: str, path: Path) -> Any:
    """``datasets.load_dataset`` on one local file; an empty or unreadable file is a :class:`DatasetError`
    naming the file, the line and what was expected there."""
    import datasets

    from hfplug.data_file_errors import describe_unreadable, require_content

    require_content(path)
    try:
        return datasets.load_dataset(builder, data_files={"train": str(path)})
    except Exception as exc:
        problem = describe_unreadable(path)
        if problem is None:
            raise
        raise DatasetError(f"dataset: {problem}.") from exc


def _describe(exc: BaseException) -> str:
    """The error and, when it wraps another (datasets' "An error occurred while generating the dataset"),
    the innermost cause, which is the one that says what went wrong."""
    text = f"{type(exc).__name__}: {exc}"
    cause = exc
    while cause.__cause__ is not None or cause.__context__ is not None:
        cause = cause.__cause__ or cause.__context__  # type: ignore[assignment]
    if cause is not exc:
        text += f" (caused by {type(cause).__name__}: {str(cause).strip()})"
    return text


def _pick_split(loaded: Any, split: str, spec: str) -> Any:
    if split not in loaded:
        raise DatasetError(f"dataset {spec!r} has no split {split!r}; it has: {', '.join(loaded)}.")
    return loaded[split]


def _without_guessed_dates(loaded: Any, path: Path) -> Any:
    """The JSON file's rows with every string as written.

    pyarrow's JSON reader turns strings that look like dates ("1999-07-02") into timestamps, and a chat
    template then renders them as something else entirely. JSON has no date type, so any date or time
    column was such a guess: the rows are read again as text, those fields typed as strings.
    """
    import datasets
    import pyarrow as pa

    table = loaded["train"]
    schema = pa.schema([field.with_type(_dates_as_strings(field.type)) for field in table.features.arrow_schema])
    if schema.equals(table.features.arrow_schema):
        return loaded
    text = path.read_text(encoding="utf-8")
    rows = (
        json.loads(text)
        if text.lstrip().startswith("[")
        else [json.loads(line) for line in text.splitlines() if line.strip()]
    )
    features = datasets.Features.from_arrow_schema(schema)
    return datasets.DatasetDict({"train": datasets.Dataset.from_list(rows, features=features)})


def _dates_as_strings(kind: Any) -> Any:
    import pyarrow as pa

    if pa.types.is_timestamp(kind) or pa.types.is_date(kind) or pa.types.is_time(kind):
        return pa.string()
    if pa.types.is_struct(kind):
        return pa.struct([field.with_type(_dates_as_strings(field.type)) for field in kind])
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        inner = _dates_as_strings(kind.value_type)
        return pa.large_list(inner) if pa.types.is_large_list(kind) else pa.list_(inner)
    return kind
