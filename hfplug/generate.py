"""One prompt in, text out: the engine behind ``hfplug generate``."""

from __future__ import annotations

from typing import Any


def generate_text(
    model_path: str,
    prompt: str,
    *,
    strategy: str | None = None,
    max_new_tokens: int = 128,
    do_sample: bool = False,
    chat: bool = True,
    seed: int = 0,
    model: Any = None,
    tokenizer: Any = None,
    **generate_kwargs: Any,
) -> str:
    """Generate a completion of ``prompt`` with the model at ``model_path`` (``asset:``/``hub:``
    names resolved). ``strategy`` names a registered generation plugin, run through transformers'
    ``custom_generate``. Pass ``model``/``tokenizer`` to reuse loaded objects."""
    import torch

    from hfplug.models import load_causal_lm, locate_model

    custom_generate = None
    if strategy:
        from hfplug import generation_path

        custom_generate = generation_path(strategy)  # fails fast on an unknown name
    if model is None or tokenizer is None:
        model, tokenizer = load_causal_lm(locate_model(model_path) if model_path != "tiny" else model_path)
    model.eval()
    if chat and tokenizer.chat_template:
        inputs = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
    else:
        inputs = tokenizer(prompt, return_tensors="pt")
    torch.manual_seed(seed)
    kwargs: dict[str, Any] = {"max_new_tokens": max_new_tokens, "do_sample": do_sample, **generate_kwargs}
    if tokenizer.pad_token_id is None:
        kwargs["pad_token_id"] = tokenizer.eos_token_id
    if custom_generate is not None:
        kwargs.update(custom_generate=custom_generate, trust_remote_code=True)
    with torch.no_grad():
        output = model.generate(**inputs, **kwargs)
    new_tokens = output[0, inputs["input_ids"].shape[1] :]
    return tokenizer.decode(new_tokens, skip_special_tokens=True)
