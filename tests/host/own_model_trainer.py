"""A stand-in trainer that builds its own model, for the `loads_own_model` host test."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from transformers import TrainingArguments


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
