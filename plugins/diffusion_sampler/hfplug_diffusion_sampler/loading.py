"""Loading a masked diffusion LM and its tokenizer for the ``joint_sampler`` trainer (the host's default
loader expects a causal LM)."""

from __future__ import annotations

from typing import Any


def load_masked_diffusion_lm(name_or_path: str | None, **model_kwargs: Any) -> tuple[Any, Any]:
    """``(model, tokenizer)`` for a folder, Hub id, ``asset:NAME`` or ``hub:REPO[@rev]``.

    Tries ``AutoModelForMaskedLM`` (our tiny models, BERT-style models) and then ``AutoModel`` (Dream and
    LLaDA register their classes there; pass ``trust_remote_code=True`` in ``model_init_kwargs``).
    """
    from transformers import AutoModel, AutoModelForMaskedLM, AutoTokenizer

    from hfplug.assets import resolve_model_path
    from hfplug.errors import ConfigError

    if not name_or_path:
        raise ConfigError("model_name_or_path: missing. The joint_sampler trainer distils from a masked diffusion LM.")
    local = resolve_model_path(name_or_path)
    trust = bool(model_kwargs.get("trust_remote_code", False))
    tokenizer = AutoTokenizer.from_pretrained(local, trust_remote_code=trust)
    try:
        model = AutoModelForMaskedLM.from_pretrained(local, **model_kwargs)
    except ValueError:  # not a registered masked-LM architecture: remote-code diffusion LMs live under AutoModel
        model = AutoModel.from_pretrained(local, **model_kwargs)
    return model, tokenizer
