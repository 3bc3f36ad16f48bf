"""The ``flow_weights`` data transform: FLOW's weights computed once, before training, and cached."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from hfplug.data import DataContext, check_columns
from hfplug.errors import ConfigError

logger = logging.getLogger(__name__)


@dataclass
class FlowWeightsConfig:
    """Parameters of the ``flow_weights`` transform (``data: [{name: flow_weights, ...}]``)."""

    mode: str = field(
        default="sequence",
        metadata={"help": "'sequence': one weight per sample [code]; 'token': also w_it = exp(-l_it/tau) [code]."},
    )
    batch_size: int = field(default=8, metadata={"help": "Samples per no-grad forward pass [ours]."})
    max_length: int | None = field(
        default=1024,
        metadata={"help": "Truncate like the trainer (keep the start); match SFTConfig.max_length [ours]."},
    )
    nan_policy: str = field(
        default="error",
        metadata={
            "help": "A sample with a NaN/inf base loss: 'error' names the rows [ours]; 'zero' weights it 0 [code]."
        },
    )
    text_field: str = field(
        default="text", metadata={"help": "Column of plain-text datasets (SFTConfig.dataset_text_field)."}
    )
    use_cache: bool = field(default=True, metadata={"help": "Reuse losses cached under the context's cache_dir."})
    device: str = field(
        default="auto", metadata={"help": "Where to run the pass: 'auto' (cuda if available), 'cpu', ..."}
    )

    def __post_init__(self) -> None:
        from hfplug_flow.weighting import MODES, NAN_POLICIES

        if self.mode not in MODES:
            raise ConfigError(f"flow_weights: mode must be one of {MODES}, got {self.mode!r}.")
        if self.nan_policy not in NAN_POLICIES:
            raise ConfigError(f"flow_weights: nan_policy must be one of {NAN_POLICIES}, got {self.nan_policy!r}.")
        if self.batch_size < 1:
            raise ConfigError(f"flow_weights: batch_size must be >= 1, got {self.batch_size}.")
        if self.max_length is not None and self.max_length < 2:
            raise ConfigError(f"flow_weights: max_length must be >= 2 or None, got {self.max_length}.")


def flow_weights(dataset: Any, config: FlowWeightsConfig, context: DataContext) -> Any:
    """Add ``flow_loss`` and ``flow_weight`` (and token-mode columns) computed with the frozen base model.

    The base losses are cached under ``context.cache_dir / 'flow_weights'``, keyed by the base model's
    files, the tokenizer, the dataset's content and the settings, so a resumed or repeated run gets
    the very same weights without a second pass.
    """
    import torch

    from hfplug_flow import cache
    from hfplug_flow.weighting import add_weight_columns, base_model_losses, tokenize_dataset

    # In tokenize_sft_row's order of preference, so the columns found (and hashed into the cache key) are the ones
    # the losses are computed from: a dataset with prompt/completion and messages is scored on prompt/completion.
    formats = [["prompt", "completion"], ["messages"], [config.text_field]]
    columns = check_columns(dataset, formats, what="flow_weights")
    tokenizer = context.load_tokenizer()
    tokenized = tokenize_dataset(dataset, tokenizer, max_length=config.max_length, text_field=config.text_field)

    key = None
    cache_dir = context.cache_dir / "flow_weights"
    if config.use_cache and context.model_name_or_path:
        key = cache.cache_key(
            model=cache.model_folder_fingerprint(context.model_name_or_path),
            tokenizer=cache.tokenizer_fingerprint(tokenizer),
            data=cache.data_fingerprint(dataset, columns),
            max_length=config.max_length,
            text_field=config.text_field,
        )
        losses = cache.load_losses(cache_dir, key, len(dataset))
        if losses is not None:
            logger.info("flow_weights: using cached base-model losses %s", cache_dir / f"{key}.json")
            return add_weight_columns(dataset, tokenized, losses, mode=config.mode, nan_policy=config.nan_policy)

    model = context.load_model()
    device = config.device if config.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    losses = base_model_losses(model, tokenized, batch_size=config.batch_size, pad_token_id=pad)
    # Validate (NaN policy, tau) before caching, so a bad dataset leaves no entry behind.
    weighted = add_weight_columns(dataset, tokenized, losses, mode=config.mode, nan_policy=config.nan_policy)
    if key is not None:
        cache.save_losses(cache_dir, key, losses)
    return weighted
