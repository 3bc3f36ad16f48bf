"""One prompt in, text out: the engine behind ``hfplug generate``."""

from __future__ import annotations

from collections.abc import Callable
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
    ``custom_generate``; its model is loaded the way the strategy's plugin says (``model_loader``,
    see :func:`strategy_model_loader`), else as a causal LM. A model without ``generate()`` (a
    masked LM) gets the strategy's function called directly. Pass ``model``/``tokenizer`` to reuse
    loaded objects."""
    import torch
    from transformers import GenerationMixin

    from hfplug.models import load_causal_lm, locate_model

    custom_generate = None
    loader = None
    if strategy:
        from hfplug import generation_path

        custom_generate = generation_path(strategy)  # fails fast on an unknown name
        loader = strategy_model_loader(strategy)
    if model is None or tokenizer is None:
        location = locate_model(model_path) if model_path != "tiny" else model_path
        model, tokenizer = (loader or load_causal_lm)(location)
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
    with torch.no_grad():
        if custom_generate is None:
            output = model.generate(**inputs, **kwargs)
        elif isinstance(model, GenerationMixin):
            output = model.generate(**inputs, **kwargs, custom_generate=custom_generate, trust_remote_code=True)
        else:  # e.g. a *ForMaskedLM: no generate() under transformers 5, but the strategy needs none
            run = GenerationMixin.load_custom_generate(model, custom_generate, trust_remote_code=True)
            output = run(model=model, **inputs, **kwargs, tokenizer=tokenizer)
    if hasattr(output, "sequences"):
        output = output.sequences
    new_tokens = output[0, inputs["input_ids"].shape[1] :]
    return tokenizer.decode(new_tokens, skip_special_tokens=True)


def strategy_model_loader(strategy: str) -> Callable[..., tuple[Any, Any]] | None:
    """How the model of generation strategy ``strategy`` is loaded: the strategy's own ``model_loader``
    extra, else that of the trainer its plugin registers under the same name (diffusion_sampler's
    ``joint_sampler`` trainer loads masked diffusion LMs for its ``joint_sampler`` strategy); None: a causal LM."""
    import hfplug

    component = hfplug.get("generation", strategy)
    loader = component.load_model_loader()
    if loader is None and strategy in hfplug.names("trainer"):
        trainer = hfplug.get("trainer", strategy)
        if trainer.distribution == component.distribution and trainer.plugin == component.plugin:
            loader = trainer.load_model_loader()
    return loader
