"""The trainer's config: the parent's config dataclass plus our own fields."""

from dataclasses import dataclass, field

from trl import SFTConfig


@dataclass
class FrozenEmbeddingsSFTConfig(SFTConfig):
    """``SFTConfig`` plus one switch; every SFT/TrainingArguments field still works."""

    freeze_embeddings: bool = field(default=True, metadata={"help": "Keep the input embedding matrix fixed."})
