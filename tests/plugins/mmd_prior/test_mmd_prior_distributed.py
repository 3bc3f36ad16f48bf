"""The mmd_ae trainer under a two-process data-parallel launch (torchrun, the launcher `accelerate launch` uses;
gloo on CPU): one SGD step equals one process training on the same global batch. MMD is not a sum over rows,
so this holds only because every process compares all processes' codes with one prior sample of their size;
the logged reconstruction error and MMD are the whole batch's.

One micro-batch per step: with gradient accumulation MMD is taken per micro-batch (on one process too), so a
global batch split into micro-batches is a different objective, not a distributed one.

The check runs twice: under DDP and under FSDP2 (accelerate's fully_shard path on CPU, see
``hfplug.testing.distributed``).
"""

from __future__ import annotations

import pytest

from hfplug.testing.distributed import assert_two_processes_match_one

SOURCE = """
import numpy as np
import torch
from datasets import Dataset
import hfplug
from hfplug.testing.distributed import exact_sgd_config

# Exactly one global batch: which rows a step sees does not depend on how the sampler splits them.
POINTS = Dataset.from_dict({"pixel_values": np.random.default_rng(0).uniform(-1, 1, size=(8, 2)).astype(np.float32)})


def make_trainer(out, **sizes):
    args = exact_sgd_config(
        hfplug.load_config("trainer", "mmd_ae"), out, latent_dim=2, architecture="mlp", hidden_sizes=[8],
        output_activation="none", prior_weight=1.0, disable_tqdm=True, **sizes,
    )
    torch.manual_seed(0)  # the autoencoder's initial weights, the same in every run
    return hfplug.load("trainer", "mmd_ae")(args=args, train_dataset=POINTS)
"""


@pytest.mark.parametrize("backend", ["ddp", "fsdp2"])
def test_two_processes_match_one_process_on_the_global_batch(tmp_path, backend):
    assert_two_processes_match_one(
        SOURCE,
        tmp_path,
        backend=backend,
        per_process={"per_device_train_batch_size": 4},
        single={"per_device_train_batch_size": 8},
        logged=["loss", "reconstruction_mse", "mmd2"],
    )
