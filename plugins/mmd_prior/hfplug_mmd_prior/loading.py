"""The ``model_loader`` ``hfplug train`` uses for ``trainer: mmd_ae`` (its default loader expects a causal LM)."""

from __future__ import annotations

from typing import Any


def load_for_training(path: str | None, **_: Any) -> tuple[Any, None]:
    """``(MMDAutoencoder, None)`` continued from a saved folder, or ``(None, None)`` when the config names
    no model: the trainer then builds a fresh one from its config and the first training row. An
    autoencoder has no tokenizer; causal-LM options such as ``dtype`` do not apply and are ignored."""
    if path is None:
        return None, None
    from hfplug_mmd_prior.model import MMDAutoencoder

    return MMDAutoencoder.from_pretrained(path), None
