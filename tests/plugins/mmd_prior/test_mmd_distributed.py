"""AE-MMD under a two-process data-parallel launch (torchrun, what `accelerate launch` uses; gloo on CPU)."""

from __future__ import annotations

import json
import textwrap

from hfplug.testing import run_data_parallel

SCRIPT = textwrap.dedent(
    """
    import hashlib, json, sys
    import numpy as np
    import torch
    from datasets import Dataset
    from hfplug_mmd_prior.config import MMDAEConfig
    from hfplug_mmd_prior.trainer import MMDAETrainer

    torch.set_num_threads(1)
    out = sys.argv[1]
    points = np.random.default_rng(0).uniform(-1, 1, size=(64, 2)).astype(np.float32)
    args = MMDAEConfig(
        output_dir=out, max_steps=2, per_device_train_batch_size=8, latent_dim=2, architecture="mlp",
        hidden_sizes=[8], output_activation="none", use_cpu=True, report_to="none", save_strategy="no",
        logging_steps=1, learning_rate=1e-2, disable_tqdm=True,
    )
    trainer = MMDAETrainer(args=args, train_dataset=Dataset.from_dict({"pixel_values": points}))
    trainer.train()
    digest = hashlib.sha256(b"".join(p.detach().numpy().tobytes() for p in trainer.model.parameters())).hexdigest()
    with open(f"{out}/rank{args.process_index}.json", "w") as handle:
        json.dump({"world_size": args.world_size, "params": digest, "log": trainer.state.log_history[0]}, handle)
    """
)


def test_two_process_training_keeps_replicas_identical(tmp_path):
    run_data_parallel(SCRIPT, tmp_path, str(tmp_path))
    ranks = [json.loads((tmp_path / f"rank{i}.json").read_text()) for i in range(2)]
    assert all(r["world_size"] == 2 for r in ranks)
    assert ranks[0]["params"] == ranks[1]["params"]  # gradients were all-reduced the same way on both
    assert all(r["log"]["mmd2"] > 0 for r in ranks)
