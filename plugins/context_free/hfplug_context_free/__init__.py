"""Context-free samples from the frozen base model, mixed into fine-tuning data (arXiv:2505.13811).

Python use without the host::

    from hfplug_context_free import ContextFreeConfig, draw_context_free_samples, mix_context_free
    samples = draw_context_free_samples(model, tokenizer, 64, ContextFreeConfig(max_new_tokens=128), seed=0)
    mixed = mix_context_free(task_dataset, samples, tokenizer, start_token_id=tokenizer.bos_token_id, ratio=0.25)
"""

from hfplug_context_free.config import ContextFreeConfig
from hfplug_context_free.mixing import context_free_count, mix_context_free
from hfplug_context_free.sampling import draw_context_free_samples, generate_context_free, resolve_start_token_id
from hfplug_context_free.transform import context_free

__all__ = [
    "ContextFreeConfig",
    "context_free",
    "context_free_count",
    "draw_context_free_samples",
    "generate_context_free",
    "mix_context_free",
    "resolve_start_token_id",
]
