"""Configuration of the ``joint_sampler`` trainer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from transformers import TrainingArguments

from hfplug.errors import ConfigError

from ..loop import POSITION_CHOICES
from ..sampler import FUSIONS


@dataclass
class JointSamplerConfig(TrainingArguments):
    """``TrainingArguments`` plus how teacher trajectories are drawn and how the sampler is shaped.

    Each training step denoises ``max_new_tokens`` masks after every prompt of the batch with exact
    ``tokens_per_step``-token steps of the frozen model (K full passes per step) and minimises
    ``sum_k KL(p_theta(.|x + t_<k)[j_k] || q_phi(.|H(x), t_<k)[j_k])`` over the recorded steps.
    """

    tokens_per_step: int = field(
        default=4,
        metadata={
            "help": "K, tokens per step in the teacher rollouts; the sampler then serves any K up to this. [paper: 4]"
        },
    )
    max_new_tokens: int = field(
        default=64, metadata={"help": "Masked tokens each rollout fills after its prompt. [ours]"}
    )
    prompt_length: int = field(
        default=32,
        metadata={"help": "Prompt tokens: the first N of a `text` row, the last N of a `prompt` row. [ours]"},
    )
    block_length: int | None = field(
        default=None,
        metadata={"help": "Semi-autoregressive block size of the rollouts (LLaDA); none: one block. [ours]"},
    )
    position_choice: str = field(
        default="confidence",
        metadata={"help": f"How each step orders its K positions: {', '.join(POSITION_CHOICES)}. [spec: confidence]"},
    )
    rollout_temperature: float = field(
        default=1.0, metadata={"help": "Temperature of the teacher rollouts (the sampler learns the raw model). [ours]"}
    )
    sampler_num_attention_heads: int | None = field(
        default=None, metadata={"help": "Heads of the sampler layer; default hidden_size // 64 (at least 1). [ours]"}
    )
    sampler_intermediate_size: int | None = field(
        default=None, metadata={"help": "MLP width of the sampler layer; default 4 * hidden_size. [ours]"}
    )
    sampler_fusion: str = field(
        default="add",
        metadata={"help": "How revealed tokens enter the sampler: add (their embeddings to H) or none. [spec: add]"},
    )
    mask_token_id: int | None = field(
        default=None, metadata={"help": "Mask token id when the model and tokenizer do not name one."}
    )
    shift_logits: bool | None = field(
        default=None, metadata={"help": "Logits at i predict token i + 1 (Dream); default: detected from model_type."}
    )
    model_init_kwargs: dict[str, Any] | str | None = field(
        default=None,
        metadata={
            "help": "Keyword arguments for loading the base model, e.g. {trust_remote_code: true} for Dream/LLaDA."
        },
    )
    learning_rate: float = field(default=1e-3, metadata={"help": "AdamW learning rate of the sampler. [ours]"})

    def __post_init__(self) -> None:
        super().__post_init__()
        if (
            isinstance(self.tokens_per_step, bool)
            or not isinstance(self.tokens_per_step, int)
            or self.tokens_per_step < 2
        ):
            raise ConfigError(
                f"tokens_per_step: the sampler learns tokens 2..K of a step, so K must be >= 2, "
                f"got {self.tokens_per_step!r}."
            )
        for name in ("max_new_tokens", "prompt_length"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}: must be >= 1, got {getattr(self, name)}.")
        if self.block_length is not None and self.block_length < 1:
            raise ConfigError(f"block_length: must be >= 1 or unset, got {self.block_length}.")
        if self.position_choice not in POSITION_CHOICES:
            raise ConfigError(
                f"position_choice: must be one of {', '.join(POSITION_CHOICES)}, got {self.position_choice!r}."
            )
        if self.sampler_fusion not in FUSIONS:
            raise ConfigError(f"sampler_fusion: must be one of {', '.join(FUSIONS)}, got {self.sampler_fusion!r}.")
        if not self.rollout_temperature > 0:
            raise ConfigError(f"rollout_temperature: must be > 0, got {self.rollout_temperature}.")
