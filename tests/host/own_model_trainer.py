"""A stand-in trainer and ``model_loader`` for a model that is not a causal LM (the host test of ``model_loader``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from transformers import TrainingArguments


def load_own_model(path, **kwargs):
    """Hands the trainer the folder to continue from (or None: build a fresh model), and no tokenizer."""
    return path, None


@dataclass
class OwnModelConfig(TrainingArguments):
    width: int = field(default=3, metadata={"help": "Size of the model it builds."})


class OwnModelTrainer:
    """Records what `hfplug train` handed it instead of training."""

    def __init__(self, model, args, train_dataset):
        self.model, self.args, self.rows = model, args, len(train_dataset)

    def add_callback(self, callback):
        pass

    def train(self, resume_from_checkpoint=None):
        return SimpleNamespace(metrics={"rows": self.rows})

    def save_model(self, output_dir):
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        Path(output_dir, "received.json").write_text(json.dumps({"model": self.model, "width": self.args.width}))

    def is_world_process_zero(self):
        return True
