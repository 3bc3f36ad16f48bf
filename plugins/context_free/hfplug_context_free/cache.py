"""On-disk cache of generated samples, keyed by the exact model weights and the sampling settings."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any


def model_fingerprint(model: Any) -> str:
    """A hash of the model's config and every parameter's bytes.

    Hashing the weights (not the path) means a fine-tuned checkpoint saved over the same folder never
    reuses the old samples; for a 135M model it costs well under a second.
    """
    import torch

    digest = hashlib.blake2b(digest_size=16)
    digest.update(model.config.to_json_string(use_diff=False).encode())
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            digest.update(name.encode())
            digest.update(str(tensor.dtype).encode())
            digest.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def cache_file(cache_dir: str | Path, key: dict[str, Any]) -> Path:
    """The file that holds (or will hold) the samples for ``key``."""
    name = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32]
    return Path(cache_dir) / "context_free" / f"{name}.json"


def read_samples(path: Path, key: dict[str, Any]) -> list[list[int]] | None:
    """The cached samples, or ``None`` when the file is missing, unreadable or written for another key."""
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if stored.get("key") != key:
        return None
    return [list(map(int, sample)) for sample in stored["samples"]]


def write_samples(path: Path, key: dict[str, Any], samples: list[list[int]]) -> None:
    """Write atomically (temporary file, then rename) so an interrupted run never leaves a half cache."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(json.dumps({"key": key, "samples": samples}))
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
