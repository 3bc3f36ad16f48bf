"""The early_exit trainer under a two-process data-parallel launch (torchrun, the launcher `accelerate launch`
uses; gloo on CPU): one SGD step equals one process training on the same global batch, with the exit losses
normalised over every process's tokens and the logged ``early_exit_loss`` taken over the whole batch.

The check runs twice: under DDP and under FSDP2 (accelerate's fully_shard path on CPU, see
``hfplug.testing.distributed``).
"""

from __future__ import annotations

import pytest

from hfplug.testing.distributed import assert_two_processes_match_one

# Rows of different lengths: a per-process token mean would weigh them differently from the global one.
SOURCE = """
from datasets import Dataset
import hfplug
from hfplug.testing import make_tiny_model, make_tiny_tokenizer
from hfplug.testing.distributed import exact_sgd_config

COMPLETIONS = [" 5", " six, I think", " 5 is the answer, said the quick brown fox", " the quick brown fox"]
DATA = Dataset.from_dict({"prompt": ["Question: 2 plus 3? Answer:"] * 4, "completion": COMPLETIONS})


def make_trainer(out, **sizes):
    tokenizer = make_tiny_tokenizer()
    args = exact_sgd_config(
        hfplug.load_config("trainer", "early_exit"), out, early_exit_layers=[1, 2], early_exit_loss_scale=2.0,
        early_exit_distillation=0.5, **sizes,
    )
    model = make_tiny_model(tokenizer, num_hidden_layers=3)
    return hfplug.load("trainer", "early_exit")(model, args=args, train_dataset=DATA, processing_class=tokenizer)
"""


@pytest.mark.parametrize("backend", ["ddp", "fsdp2"])
def test_two_processes_match_one_process_on_the_global_batch(tmp_path, backend):
    """The exit heads read hidden states through the model's own norm and LM head, which FSDP2 shards."""
    assert_two_processes_match_one(
        SOURCE,
        tmp_path,
        backend=backend,
        per_process={"per_device_train_batch_size": 1, "gradient_accumulation_steps": 2},
        single={"per_device_train_batch_size": 4},
        logged=["loss", "early_exit_loss"],
    )
