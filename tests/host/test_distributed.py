"""Plugins load in every process of a distributed run, without duplicate-registration errors."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path


def test_accelerate_launch_two_cpu_processes(tmp_path, tiny_model, tiny_tokenizer):
    tiny_model.save_pretrained(tmp_path / "model")
    tiny_tokenizer.save_pretrained(tmp_path / "model")
    rows = [{"text": f"the quick brown fox number {i}"} for i in range(16)]
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    (tmp_path / "run.yaml").write_text(
        "trainer: sft\nmodel_name_or_path: model\ndataset: train.jsonl\noutput_dir: out\nmax_steps: 2\n"
        "per_device_train_batch_size: 2\nreport_to: none\nsave_strategy: 'no'\nlogging_steps: 1\n"
    )
    accelerate = shutil.which("accelerate", path=str(Path(sys.executable).parent)) or "accelerate"
    # `accelerate launch --cpu` runs a single process (its simple launcher); --multi_gpu with
    # use_cpu and the gloo backend is how accelerate starts several CPU processes.
    command = [
        accelerate, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1", "--main_process_port", "0",
        "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "hfplug", "train", "--config", "run.yaml",
        "--use_cpu", "true", "--ddp_backend", "gloo",
    ]  # fmt: skip
    env = {**os.environ, "HFPLUG_STRICT": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert output.count("Saved to out") == 2  # both processes ran the whole command
    assert "registered by both" not in output
    info = json.loads((tmp_path / "out" / "hfplug_run.json").read_text())
    # 2 steps x 2 rows x 2 processes = 8 of 16 rows: half an epoch only if both processes trained.
    assert info["metrics"]["epoch"] == 0.5
