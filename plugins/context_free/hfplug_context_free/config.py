"""Settings of the context-free mix, checked when the config is built (before any model is loaded)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from hfplug.errors import ConfigError


@dataclass
class ContextFreeConfig:
    """How many context-free sequences to draw from the base model, how, and how to mix them in.

    Fields marked [paper] follow arXiv:2505.13811; [ours] are our choices where the paper is silent.
    """

    ratio: float = field(
        default=0.25,
        metadata={
            "help": "[ours] Fraction of the mixed dataset that is context-free: n_cf / (n_task + n_cf). "
            "0 leaves the task data unchanged; must be in [0, 1)."
        },
    )
    temperature: float = field(
        default=1.0, metadata={"help": "[paper] Sampling temperature; 1.0 samples p_base itself (unbiased KL)."}
    )
    top_p: float = field(default=1.0, metadata={"help": "[ours] Nucleus sampling; 1.0 = off (unbiased)."})
    top_k: int = field(default=0, metadata={"help": "[ours] Top-k sampling; 0 = off (unbiased)."})
    max_new_tokens: int = field(default=256, metadata={"help": "[ours] Length cap of each generated sequence."})
    num_samples: int | None = field(
        default=None,
        metadata={
            "help": "[ours] Sequences to generate. Default: exactly as many as `ratio` needs. Fewer are reused "
            "in turn, more are subsampled."
        },
    )
    batch_size: int = field(default=16, metadata={"help": "[ours] Sequences generated per `generate` call."})
    start_token: str | None = field(
        default=None,
        metadata={
            "help": "[paper] The token generation starts from. Default: the tokenizer's BOS. Tokenizers without "
            "BOS need one named here, e.g. '<|endoftext|>'."
        },
    )
    seed: int | None = field(
        default=None, metadata={"help": "[ours] Sampling and shuffling seed; default: the run's seed."}
    )
    use_cache: bool = field(
        default=True, metadata={"help": "[ours] Reuse samples cached on disk for the same model, settings and seed."}
    )
    progress: bool = field(default=True, metadata={"help": "[ours] Show a progress bar while generating."})

    def __post_init__(self) -> None:
        if not 0.0 <= self.ratio < 1.0:
            raise ConfigError(
                f"context_free: ratio must be in [0, 1) (the context-free fraction of the mixed dataset), "
                f"got {self.ratio!r}."
            )
        if not self.temperature > 0:
            raise ConfigError(f"context_free: temperature must be > 0, got {self.temperature!r}.")
        if not 0.0 < self.top_p <= 1.0:
            raise ConfigError(f"context_free: top_p must be in (0, 1], got {self.top_p!r}.")
        if self.top_k < 0:
            raise ConfigError(f"context_free: top_k must be >= 0 (0 = off), got {self.top_k!r}.")
        if self.max_new_tokens < 1:
            raise ConfigError(f"context_free: max_new_tokens must be >= 1, got {self.max_new_tokens!r}.")
        if self.num_samples is not None and self.num_samples < 1:
            raise ConfigError(f"context_free: num_samples must be >= 1 or unset, got {self.num_samples!r}.")
        if self.batch_size < 1:
            raise ConfigError(f"context_free: batch_size must be >= 1, got {self.batch_size!r}.")

    def sampling_key(self) -> dict[str, Any]:
        """The fields that change which sequences are drawn (part of the cache key; the batch size changes how
        the random stream is consumed)."""
        fields = asdict(self)
        return {name: fields[name] for name in ("temperature", "top_p", "top_k", "max_new_tokens", "batch_size")}
