"""InfoPO under a two-process data-parallel launch (torchrun, the launcher `accelerate launch` uses; gloo on CPU).

The check is against a single-process computation, not only replica agreement: the loss the two processes
log for the first step, and the parameters after one plain SGD step, must equal what one process computes
with log-probabilities taken without trl on all four pairs.
"""

from __future__ import annotations

import json
import textwrap

import pytest
import torch
from hfplug_infopo.losses import infopo_loss

from hfplug.testing import make_tiny_model, make_tiny_tokenizer, run_data_parallel

SPREAD = {"initializer_range": 0.5}
BETA = 0.1

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import torch
    from datasets import Dataset
    from hfplug.testing import make_tiny_model, make_tiny_tokenizer
    from hfplug_infopo.config import InfoPOConfig
    from hfplug_infopo.trainer import InfoPOTrainer

    torch.set_num_threads(1)
    out, rows = sys.argv[1], json.loads(sys.argv[2])
    tokenizer = make_tiny_tokenizer()
    spread = {"initializer_range": 0.5}
    args = InfoPOConfig(
        output_dir=out, max_steps=1, per_device_train_batch_size=2, beta=0.1, optim="sgd", learning_rate=1.0,
        lr_scheduler_type="constant", max_grad_norm=0.0, use_cpu=True, bf16=False, activation_checkpointing=False,
        report_to="none", save_strategy="no", logging_steps=1, seed=0,
    )
    trainer = InfoPOTrainer(
        make_tiny_model(tokenizer, seed=0, **spread), ref_model=make_tiny_model(tokenizer, seed=1, **spread),
        args=args, train_dataset=Dataset.from_dict(rows), processing_class=tokenizer,
    )
    trainer.train()
    params = torch.cat([p.detach().flatten() for p in trainer.model.parameters()])
    torch.save(params, f"{out}/rank{args.process_index}.pt")
    with open(f"{out}/rank{args.process_index}.json", "w") as handle:
        json.dump({"world_size": args.world_size, "log": trainer.state.log_history[0]}, handle)
    """
)


def test_two_processes_match_one_process_on_the_whole_batch(tmp_path, rows_of, independent_log_ratios):
    rows = rows_of(4)  # two pairs per process, the four together in one optimizer step
    run_data_parallel(SCRIPT, tmp_path, str(tmp_path), json.dumps(rows))
    ranks = [json.loads((tmp_path / f"rank{i}.json").read_text()) for i in range(2)]
    params = [torch.load(tmp_path / f"rank{i}.pt") for i in range(2)]
    assert all(r["world_size"] == 2 for r in ranks)
    assert torch.equal(params[0], params[1])  # the replicas stayed identical

    tokenizer = make_tiny_tokenizer()
    policy = make_tiny_model(tokenizer, seed=0, **SPREAD)
    reference = make_tiny_model(tokenizer, seed=1, **SPREAD)
    chosen, rejected = independent_log_ratios(policy, reference, tokenizer, rows, length_average=False)
    loss = infopo_loss(chosen, rejected, BETA, "nwj").mean()
    loss.backward()
    # The logged loss is the mean over both processes (float32, rounded by Trainer to 4 decimals).
    assert ranks[0]["log"]["loss"] == pytest.approx(float(loss.detach()), rel=1e-5, abs=1e-4)
    assert ranks[0]["log"]["rewards/chosen"] == pytest.approx(float(BETA * chosen.detach().mean()), rel=1e-4)
    with torch.no_grad():  # one SGD step, learning rate 1, on the mean over all four pairs
        expected = torch.cat([(p - p.grad).flatten() for p in policy.parameters()])
    scale = (expected - torch.cat([p.detach().flatten() for p in policy.parameters()])).abs().max()
    assert (params[0] - expected).abs().max() <= 1e-4 * scale
