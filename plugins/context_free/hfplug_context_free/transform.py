"""The ``context_free`` data transform as the host calls it: ``context_free(dataset, config, context)``."""

from __future__ import annotations

from typing import Any

from hfplug_context_free.config import ContextFreeConfig
from hfplug_context_free.mixing import context_free_count, mix_context_free
from hfplug_context_free.sampling import draw_context_free_samples, resolve_start_token_id
from hfplug_context_free.task_tokens import TASK_COLUMNS


def context_free(dataset: Any, config: ContextFreeConfig | None, context: Any) -> Any:
    """Mix sequences sampled from the frozen base model (after the start token alone) into ``dataset``.

    Every check (columns, empty dataset, start token) runs before the model is loaded. Samples are drawn
    once, with the config's seed (default: the run's), and cached under ``context.cache_dir``.
    Returns a pre-tokenized dataset (``input_ids``, ``labels``, ``context_free``); see :mod:`.mixing`.
    """
    from hfplug.data import check_columns

    config = config or ContextFreeConfig()
    check_columns(dataset, TASK_COLUMNS, what="context_free")
    tokenizer = context.load_tokenizer()
    start_id = resolve_start_token_id(tokenizer, config.start_token)
    seed = context.seed if config.seed is None else config.seed
    needed = context_free_count(len(dataset), config.ratio)
    samples: list[list[int]] = []
    if needed:
        samples = draw_context_free_samples(
            context.load_model(),
            tokenizer,
            config.num_samples or needed,
            config,
            seed=seed,
            cache_dir=context.cache_dir,
        )
    return mix_context_free(dataset, samples, tokenizer, start_token_id=start_id, ratio=config.ratio, seed=seed)
