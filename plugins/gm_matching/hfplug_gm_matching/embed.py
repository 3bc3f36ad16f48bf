"""Sentence embeddings of a dataset's text, computed with ``datasets.map(batched=True)`` and cached on disk.

The cache file is named by a fingerprint of the text itself, the encoder's files and the settings, so a
second run (or a run on an identical copy of the data) reads the embeddings instead of re-encoding,
and a changed row or encoder never reuses stale ones. Under ``accelerate launch`` / ``torchrun`` each
process encodes its own contiguous shard into the cache, waits for the others, and reads all shards
in order, so every process ends with the same full matrix.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from hfplug.errors import ConfigError, DatasetError

DEFAULT_ENCODER = "asset:all-minilm-l6-v2"
TEXT_COLUMNS = (("text",), ("prompt", "completion"), ("messages",))
FORMAT_VERSION = 1


def text_columns(dataset: Any, text_column: str | None) -> list[str]:
    """The column(s) whose text is embedded: ``text_column``, else ``text``, ``prompt``+``completion`` or
    ``messages``. Raises :class:`DatasetError` naming what the dataset has."""
    columns = list(dataset.column_names)
    if text_column is not None:
        if text_column not in columns:
            raise DatasetError(
                f"gm_matching: text_column {text_column!r} is not in the dataset ({', '.join(columns)})."
            )
        return [text_column]
    for option in TEXT_COLUMNS:
        if all(column in columns for column in option):
            return list(option)
    raise DatasetError(
        "gm_matching needs an embedding column or text to embed: set embedding_column, or text_column, or give "
        f"the dataset a 'text' (or 'prompt'+'completion', or 'messages') column; it has: {', '.join(columns)}."
    )


def row_texts(batch: dict[str, list[Any]], columns: list[str]) -> list[str]:
    """One string per row: the columns joined by newlines; chat messages as their contents in order."""
    texts = []
    for values in zip(*(batch[column] for column in columns), strict=True):
        parts = []
        for value in values:
            if isinstance(value, list):  # chat messages
                parts.extend(str(message.get("content", "")) for message in value if isinstance(message, dict))
            else:
                parts.append("" if value is None else str(value))
        texts.append("\n".join(parts))
    return texts


class TextEncoder:
    """Mean-pooled, L2-normalised last hidden states of a transformers encoder (all-MiniLM-L6-v2's recipe),
    or a registered ``model`` component (``model:NAME``) that has ``encode(texts) -> (n, d) array``."""

    def __init__(self, name: str, *, max_length: int = 256, device: str = "auto") -> None:
        self.name = name
        self.max_length = max_length
        self.device = device
        self._loaded: tuple[Any, Any] | None = None
        self.calls = 0

    def fingerprint(self) -> str:
        """Identifies the encoder's weights: a model folder by its files, a registered model by its version."""
        if self.name.startswith("model:"):
            import hfplug

            component = hfplug.get("model", self.name.removeprefix("model:"))
            return f"{self.name}@{component.distribution}=={component.version}"
        return folder_fingerprint(self.path)

    @property
    def path(self) -> str:
        from hfplug.assets import resolve_model_path

        return resolve_model_path(self.name)

    def encode(self, texts: list[str]) -> np.ndarray:
        """``(len(texts), d)`` float32 embeddings."""
        self.calls += 1
        if self.name.startswith("model:"):
            return np.asarray(self._component().encode(texts), dtype=np.float32)
        import torch

        tokenizer, model = self._model()
        inputs = tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        inputs = {key: value.to(model.device) for key, value in inputs.items()}
        with torch.inference_mode():
            hidden = model(**inputs).last_hidden_state
        mask = inputs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        return torch.nn.functional.normalize(pooled.float(), dim=1).cpu().numpy()

    def _model(self) -> tuple[Any, Any]:
        if self._loaded is None:
            import torch
            from transformers import AutoModel, AutoTokenizer

            device = self.device if self.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
            try:
                tokenizer = AutoTokenizer.from_pretrained(self.path)
                model = AutoModel.from_pretrained(self.path).to(device).eval()
            except OSError as error:
                raise ConfigError(f"gm_matching: could not load encoder {self.name!r}: {error}") from error
            self._loaded = (tokenizer, model)
        return self._loaded

    def _component(self) -> Any:
        import hfplug

        component = hfplug.load("model", self.name.removeprefix("model:"))
        encoder = component() if isinstance(component, type) else component
        if not callable(getattr(encoder, "encode", None)):
            raise ConfigError(f"gm_matching: encoder {self.name!r} has no encode(texts) method.")
        return encoder


def folder_fingerprint(path: str) -> str:
    """A hash of a model folder's small files and of each large file's size and first megabyte; a Hub id
    (not a folder) is identified by its name."""
    root = Path(path)
    digest = hashlib.sha256()
    if not root.is_dir():
        digest.update(path.encode())
        return digest.hexdigest()
    for file in sorted(p for p in root.rglob("*") if p.is_file() and ".cache" not in p.parts):
        size = file.stat().st_size
        digest.update(f"{file.relative_to(root)}\0{size}\0".encode())
        with file.open("rb") as handle:
            digest.update(handle.read(1 << 20))
    return digest.hexdigest()


def text_fingerprint(dataset: Any, columns: list[str]) -> str:
    """A hash of the text that would be embedded, row by row (in-memory datasets have random fingerprints)."""
    digest = hashlib.sha256()
    for batch in dataset.select_columns(columns).iter(batch_size=2048):
        for text in row_texts(batch, columns):
            digest.update(text.encode("utf-8", "surrogatepass"))
            digest.update(b"\0")
    digest.update(str(len(dataset)).encode())
    return digest.hexdigest()


def embed_dataset(
    dataset: Any,
    *,
    encoder: str = DEFAULT_ENCODER,
    text_column: str | None = None,
    batch_size: int = 64,
    max_length: int = 256,
    device: str = "auto",
    cache_dir: str | Path | None = None,
    progress: bool = True,
    text_encoder: TextEncoder | None = None,
) -> np.ndarray:
    """``(len(dataset), d)`` float32 embeddings of the dataset's text.

    With ``cache_dir`` the result is cached under ``cache_dir/gm_matching`` by content fingerprint (see the
    module docstring); ``None`` keeps everything in memory. ``text_encoder`` overrides the encoder object
    (tests use it to count encoding calls).
    """
    columns = text_columns(dataset, text_column)
    text_encoder = text_encoder or TextEncoder(encoder, max_length=max_length, device=device)
    rank, world = _process_rank()
    if world > 1 and cache_dir is None:
        raise ConfigError(
            "gm_matching: a multi-process embedding pass exchanges shards through the cache; set use_cache."
        )
    shard = dataset.shard(num_shards=world, index=rank, contiguous=True) if world > 1 else dataset
    map_kwargs: dict[str, Any] = {"keep_in_memory": True}
    if cache_dir is not None:
        key = _cache_key(dataset, columns, text_encoder, max_length)
        folder = Path(cache_dir) / "gm_matching"
        folder.mkdir(parents=True, exist_ok=True)
        map_kwargs = {
            "cache_file_name": str(_shard_file(folder, key, rank, world)),
            "load_from_cache_file": True,
            "new_fingerprint": f"{key}-{rank}-{world}",
        }

    def encode_batch(batch: dict[str, list[Any]]) -> dict[str, Any]:
        return {"embedding": text_encoder.encode(row_texts(batch, columns))}

    encoded = shard.map(
        encode_batch,
        batched=True,
        batch_size=batch_size,
        remove_columns=list(shard.column_names),
        desc=f"gm_matching: embedding with {encoder}",
        **map_kwargs,
    )
    if world == 1:
        return column_matrix(encoded, "embedding")
    _wait_for_everyone()
    from datasets import Dataset

    parts = [Dataset.from_file(str(_shard_file(folder, key, r, world))) for r in range(world)]
    return np.concatenate([column_matrix(part, "embedding") for part in parts])


def column_matrix(dataset: Any, column: str) -> np.ndarray:
    """A list-of-numbers column as an ``(n, d)`` float32 array, read from Arrow without a Python loop.

    Raises :class:`DatasetError` for a missing row, ragged lengths or non-numeric values.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    array = dataset.data.column(column).combine_chunks()
    if not (
        pa.types.is_list(array.type) or pa.types.is_large_list(array.type) or pa.types.is_fixed_size_list(array.type)
    ):
        raise DatasetError(f"column {column!r} must hold one list of numbers per row, got type {array.type}.")
    if array.null_count:
        row = int(np.flatnonzero(array.is_null().to_numpy(zero_copy_only=False))[0])
        raise DatasetError(f"column {column!r}: row {row} has no embedding ({array.null_count} rows in all).")
    lengths = pc.list_value_length(array).to_numpy(zero_copy_only=False)
    if len(lengths) and (lengths != lengths[0]).any():
        row = int(np.flatnonzero(lengths != lengths[0])[0])
        raise DatasetError(
            f"column {column!r} is ragged: row 0 has {lengths[0]} values but row {row} has {lengths[row]}; every "
            "embedding must have the same length."
        )
    values = array.flatten()
    if not (pa.types.is_floating(values.type) or pa.types.is_integer(values.type)):
        raise DatasetError(f"column {column!r} must hold numbers, got {values.type}.")
    if values.null_count:
        raise DatasetError(f"column {column!r} has missing values inside an embedding; fill or drop those rows.")
    width = int(lengths[0]) if len(lengths) else 0
    return values.to_numpy(zero_copy_only=False).astype(np.float32, copy=False).reshape(len(array), width)


def _cache_key(dataset: Any, columns: list[str], text_encoder: TextEncoder, max_length: int) -> str:
    parts = {
        "v": FORMAT_VERSION,
        "text": text_fingerprint(dataset, columns),
        "encoder": text_encoder.fingerprint(),
        "max_length": max_length,
        "pooling": "mean+l2",
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:40]


def _shard_file(folder: Path, key: str, rank: int, world: int) -> Path:
    return folder / f"embeddings-{key}-{rank:05d}-of-{world:05d}.arrow"


def _process_rank() -> tuple[int, int]:
    """(rank, world size) of a torchrun/accelerate launch, (0, 1) otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return (int(os.environ.get("RANK", "0")), world) if world > 1 else (0, 1)


def _wait_for_everyone() -> None:
    """A barrier: the launch's own process group when one is up, else accelerate's (which starts it)."""
    import torch.distributed as distributed

    if distributed.is_available() and distributed.is_initialized():
        distributed.barrier()
        return
    from accelerate import PartialState

    PartialState().wait_for_everyone()
