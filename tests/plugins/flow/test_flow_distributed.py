"""FLOW under a two-process data-parallel launch (torchrun, the launcher `accelerate launch` uses; gloo on CPU).

Replicas agreeing is what DDP guarantees whatever the loss is, so the launch is also compared with one
process training on the same global batch: same logged loss and weight mean, same parameters after an SGD step.
"""

from __future__ import annotations

from hfplug.testing.distributed import assert_two_processes_match_one

from .test_flow_fsdp2 import SOURCE  # the same trainer, data and weights as under FSDP2


def test_two_process_training_equals_one_process_on_the_global_batch(tmp_path):
    # The completions differ in length, so a mean of per-process, per-micro-batch weight means is not the mean
    # over all tokens of the step: a flow/weight_mean not reduced over processes and micro-batches shows here.
    ranks = assert_two_processes_match_one(
        SOURCE,
        tmp_path,
        # One exact step on the global batch of 4 (2 processes x 1 row x 2 accumulation steps).
        per_process={"per_device_train_batch_size": 1, "gradient_accumulation_steps": 2},
        single={"per_device_train_batch_size": 4},
        logged=["loss", "flow/weight_mean"],
    )
    assert all(0 < record["log"]["flow/weight_mean"] <= 1 for record in ranks)
