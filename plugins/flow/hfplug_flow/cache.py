"""A disk cache for the base model's losses, keyed by model + tokenizer + data + settings.

The losses are stored (not the weights), as JSON written to a temporary file and renamed into
place, so a crash never leaves a half-written entry under the real name; an entry that does not
parse or does not match its key is ignored and recomputed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from hfplug_flow.weighting import BaseLosses

FORMAT_VERSION = 1
# Reading the head and tail of each weight file identifies a checkpoint without hashing gigabytes.
EDGE_BYTES = 1 << 20


def model_folder_fingerprint(folder: str | os.PathLike[str]) -> str:
    """A fingerprint of a model folder: every small file in full, large files by size, head and tail."""
    digest = hashlib.sha256()
    root = Path(folder)
    if not root.is_dir():  # a Hub id the host did not resolve: the name (and revision in it) is all we have
        return hashlib.sha256(str(folder).encode()).hexdigest()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and ".cache" not in p.parts):
        size = path.stat().st_size
        digest.update(f"{path.relative_to(root)}:{size}\n".encode())
        with path.open("rb") as handle:
            if size <= 2 * EDGE_BYTES:
                digest.update(handle.read())
            else:
                digest.update(handle.read(EDGE_BYTES))
                handle.seek(size - EDGE_BYTES)
                digest.update(handle.read(EDGE_BYTES))
    return digest.hexdigest()


def tokenizer_fingerprint(tokenizer: Any) -> str:
    """The tokenizer's vocabulary/merges, chat template and special tokens."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    parts = [
        backend.to_str() if backend is not None else json.dumps(tokenizer.get_vocab(), sort_keys=True),
        str(getattr(tokenizer, "chat_template", None)),
        json.dumps(tokenizer.special_tokens_map, sort_keys=True, default=str),
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def data_fingerprint(dataset: Any, columns: list[str]) -> str:
    """A hash of the content of ``columns`` (in-memory datasets have random fingerprints, so we hash content)."""
    digest = hashlib.sha256()
    for batch in dataset.select_columns(columns).iter(batch_size=1000):
        digest.update(json.dumps(batch, sort_keys=True, default=str).encode())
    digest.update(str(len(dataset)).encode())
    return digest.hexdigest()


def cache_key(**parts: Any) -> str:
    """One key from named parts (fingerprints and settings)."""
    return hashlib.sha256(json.dumps({"v": FORMAT_VERSION, **parts}, sort_keys=True).encode()).hexdigest()


def load_losses(cache_dir: Path, key: str, num_rows: int) -> BaseLosses | None:
    """The cached losses for ``key``, or ``None`` when absent, unreadable or for another dataset."""
    path = cache_dir / f"{key}.json"
    try:
        entry = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("key") != key or entry.get("num_rows") != num_rows:
        return None
    sample_losses, token_losses = entry.get("sample_losses"), entry.get("token_losses")
    if not isinstance(sample_losses, list) or not isinstance(token_losses, list) or len(sample_losses) != num_rows:
        return None
    if len(token_losses) != num_rows:
        return None
    return BaseLosses(sample_losses=[float(x) for x in sample_losses], token_losses=token_losses)


def save_losses(cache_dir: Path, key: str, losses: BaseLosses) -> Path:
    """Write the entry atomically (temporary file in the same folder, then rename)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"{key}.json"
    entry = {
        "key": key,
        "num_rows": len(losses.sample_losses),
        "sample_losses": losses.sample_losses,
        "token_losses": losses.token_losses,
    }
    handle, temporary = tempfile.mkstemp(dir=cache_dir, prefix=f".{key}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as out:
            json.dump(entry, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    return path
