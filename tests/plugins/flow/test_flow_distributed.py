"""FLOW under a two-process data-parallel launch (torchrun, the launcher `accelerate launch` uses; gloo on CPU).

Replicas agreeing is what DDP guarantees whatever the loss is, so the launch is also compared with one
process training on the same global batch: same logged loss, same parameters after an SGD step.
"""

from __future__ import annotations

import json
import textwrap

import pytest
import torch

from hfplug.testing import make_tiny_model, make_tiny_tokenizer, run_data_parallel
from hfplug.testing.distributed import assert_same_step

COMMON = textwrap.dedent(
    """
    import torch
    from datasets import Dataset
    from hfplug.testing import make_tiny_model, make_tiny_tokenizer
    from hfplug.testing.distributed import EXACT_SGD_STEP
    from hfplug_flow.config import FlowConfig
    from hfplug_flow.trainer import FlowTrainer
    from hfplug_flow.weighting import compute_flow_weights

    COMPLETIONS = [" 5", " six, I think", " 5 is the answer", " the quick brown fox"]
    DATA = Dataset.from_dict({"prompt": ["Question: 2 plus 3? Answer:"] * 4, "completion": COMPLETIONS})


    def train_exact(out, **sizes):
        tokenizer = make_tiny_tokenizer()
        data = compute_flow_weights(make_tiny_model(tokenizer), tokenizer, DATA)
        trainer = FlowTrainer(
            make_tiny_model(tokenizer), args=FlowConfig(output_dir=out, **EXACT_SGD_STEP, **sizes), train_dataset=data,
            processing_class=tokenizer,
        )
        trainer.train()
        return trainer
    """
)

SCRIPT = COMMON + textwrap.dedent(
    """
    import hashlib, json, sys

    torch.set_num_threads(1)
    out = sys.argv[1]
    # One exact step on the global batch of 4 (2 processes x 1 row x 2 accumulation steps).
    trainer = train_exact(out, per_device_train_batch_size=1, gradient_accumulation_steps=2)
    digest = hashlib.sha256(b"".join(p.detach().numpy().tobytes() for p in trainer.model.parameters())).hexdigest()
    rank = trainer.args.process_index
    if rank == 0:
        torch.save(trainer.model.state_dict(), f"{out}/params.pt")
    with open(f"{out}/rank{rank}.json", "w") as handle:
        json.dump({"world_size": trainer.args.world_size, "params": digest, "log": trainer.state.log_history[0]},
                  handle)
    """
)


def test_two_process_training_equals_one_process_on_the_global_batch(tmp_path):
    run_data_parallel(SCRIPT, tmp_path, str(tmp_path))
    ranks = [json.loads((tmp_path / f"rank{i}.json").read_text()) for i in range(2)]
    assert all(r["world_size"] == 2 for r in ranks)
    assert ranks[0]["params"] == ranks[1]["params"]  # gradients were all-reduced the same way on both
    assert all(0 < r["log"]["flow/weight_mean"] <= 1 for r in ranks)

    namespace: dict = {}
    exec(COMMON, namespace)  # the same data, weights, model and settings, in this one process
    single = namespace["train_exact"](str(tmp_path / "single"), per_device_train_batch_size=4)
    assert ranks[0]["log"]["loss"] == pytest.approx(single.state.log_history[0]["loss"], rel=1e-4)
    distributed = torch.load(tmp_path / "params.pt")
    assert_same_step(distributed, single.model.state_dict(), make_tiny_model(make_tiny_tokenizer()).state_dict())
