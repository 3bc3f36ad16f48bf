"""TALR under a two-process data-parallel launch (torchrun, the launcher `accelerate launch` uses; gloo on CPU)."""

from __future__ import annotations

import json
import textwrap

from hfplug.testing import run_data_parallel

SCRIPT = textwrap.dedent(
    """
    import hashlib, json, sys
    import torch
    from datasets import Dataset
    from hfplug.testing import make_tiny_model, make_tiny_tokenizer
    from hfplug_talr.config import TALRConfig
    from hfplug_talr.trainer import TALRTrainer

    torch.set_num_threads(1)
    out = sys.argv[1]
    tokenizer = make_tiny_tokenizer()
    completions = [" 5", " six, I think", " 5 is the answer", " the quick brown fox", " 3", " seven", " 42", " no"]
    data = Dataset.from_dict({"prompt": ["Question: 2 plus 3? Answer:"] * 8, "completion": completions})
    args = TALRConfig(
        output_dir=out, max_steps=2, per_device_train_batch_size=1, gradient_accumulation_steps=2,
        tau_scope="step", use_cpu=True, bf16=False, activation_checkpointing=False, report_to="none",
        save_strategy="no", logging_steps=1, learning_rate=1e-2,
    )
    trainer = TALRTrainer(make_tiny_model(tokenizer), args=args, train_dataset=data, processing_class=tokenizer)
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
    assert all(r["log"]["talr/tau"] > 0 for r in ranks)
