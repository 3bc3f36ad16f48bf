"""TALR under a two-process data-parallel launch (torchrun, the launcher `accelerate launch` uses; gloo on CPU).

Replicas agreeing is what DDP guarantees whatever the loss is, so the launch is also compared with one
process training on the same global batch: same logged loss and weight statistics (tau, weight mean, min, max,
floored fraction), same parameters after an SGD step.
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
    from hfplug_talr.config import TALRConfig
    from hfplug_talr.trainer import TALRTrainer

    COMPLETIONS = [" 5", " six, I think", " 5 is the answer", " the quick brown fox"]
    DATA = Dataset.from_dict({"prompt": ["Question: 2 plus 3? Answer:"] * 4, "completion": COMPLETIONS})


    def train_exact(out, **sizes):
        # A fixed tau makes each token's weight independent of which process holds its sequence; the dynamic
        # median is per process by design (README), so it cannot equal the single-process median. The random
        # model's losses sit near 5.8, so with tau = 8 the weights spread around exp(-5.8 / 8) ~ 0.49 and a floor
        # of 0.485 holds some of them (tau = 1 would floor them all and every statistic would be w_min).
        tokenizer = make_tiny_tokenizer()
        args = TALRConfig(output_dir=out, tau=8.0, w_min=0.485, **EXACT_SGD_STEP, **sizes)
        trainer = TALRTrainer(make_tiny_model(tokenizer), args=args, train_dataset=DATA, processing_class=tokenizer)
        trainer.train()
        return trainer
    """
)

# Each must be the statistic over every token of the step, not one process's share.
WEIGHT_STATISTICS = ("talr/tau", "talr/weight_mean", "talr/weight_min", "talr/weight_max", "talr/floored_fraction")

SCRIPT = COMMON + textwrap.dedent(
    """
    import hashlib, json, sys

    torch.set_num_threads(1)
    out = sys.argv[1]
    # 1. The default dynamic tau with tau_scope='step': replicas stay identical.
    tokenizer = make_tiny_tokenizer()
    args = TALRConfig(
        output_dir=out, max_steps=2, per_device_train_batch_size=1, gradient_accumulation_steps=2,
        tau_scope="step", use_cpu=True, bf16=False, activation_checkpointing=False, report_to="none",
        save_strategy="no", logging_steps=1, learning_rate=1e-2,
    )
    trainer = TALRTrainer(make_tiny_model(tokenizer), args=args, train_dataset=DATA, processing_class=tokenizer)
    trainer.train()
    digest = hashlib.sha256(b"".join(p.detach().numpy().tobytes() for p in trainer.model.parameters())).hexdigest()
    # 2. One exact step on the global batch of 4 (2 processes x 1 row x 2 accumulation steps).
    exact = train_exact(out, per_device_train_batch_size=1, gradient_accumulation_steps=2)
    rank = args.process_index
    if rank == 0:
        torch.save(exact.model.state_dict(), f"{out}/exact_params.pt")
    with open(f"{out}/rank{rank}.json", "w") as handle:
        json.dump({"world_size": args.world_size, "params": digest, "log": trainer.state.log_history[0],
                   "exact_log": exact.state.log_history[0]}, handle)
    """
)


def test_two_process_training_equals_one_process_on_the_global_batch(tmp_path):
    run_data_parallel(SCRIPT, tmp_path, str(tmp_path))
    ranks = [json.loads((tmp_path / f"rank{i}.json").read_text()) for i in range(2)]
    assert all(r["world_size"] == 2 for r in ranks)
    assert ranks[0]["params"] == ranks[1]["params"]  # gradients were all-reduced the same way on both
    assert all(r["log"]["talr/tau"] > 0 for r in ranks)

    namespace: dict = {}
    exec(COMMON, namespace)  # the same data, model and settings, in this one process
    single = namespace["train_exact"](str(tmp_path / "single"), per_device_train_batch_size=4)
    expected = single.state.log_history[0]
    assert 0 < expected["talr/floored_fraction"] < 1  # neither all floored nor none: every statistic is informative
    for rank, record in enumerate(ranks):
        for name in ("loss", *WEIGHT_STATISTICS):
            assert record["exact_log"][name] == pytest.approx(expected[name], rel=1e-4), (
                f"{name} logged by process {rank} of 2: {record['exact_log'][name]}; one process: {expected[name]}"
            )
    distributed = torch.load(tmp_path / "exact_params.pt")
    assert_same_step(distributed, single.model.state_dict(), make_tiny_model(make_tiny_tokenizer()).state_dict())
