"""Load a causal LM and its tokenizer from anything a config accepts as a model path."""

from __future__ import annotations

from typing import Any


def load_causal_lm(name_or_path: str, **model_kwargs: Any) -> tuple[Any, Any]:
    """``(model, tokenizer)`` for a folder, a Hub id, ``asset:NAME`` or ``hub:REPO[@rev]``.

    ``name_or_path="tiny"`` gives hfplug's tiny random test model instead (seconds, no files), so
    examples can offer a quick dry run.
    """
    if name_or_path == "tiny":
        from hfplug.testing import make_tiny_model, make_tiny_tokenizer

        tokenizer = make_tiny_tokenizer()
        return make_tiny_model(tokenizer), tokenizer
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from hfplug.assets import resolve_model_path

    local = resolve_model_path(name_or_path)
    tokenizer = AutoTokenizer.from_pretrained(local)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return AutoModelForCausalLM.from_pretrained(local, **model_kwargs), tokenizer
