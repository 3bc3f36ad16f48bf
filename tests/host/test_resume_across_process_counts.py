"""Resuming `hfplug train` from a checkpoint on a different number of processes gives the step an uninterrupted
run takes: TALR (fixed tau) trained 2 steps on 1 process, resumed for its 3rd step on 2 (torchrun, gloo on CPU,
the launcher `accelerate launch` uses), and the other way round, equals 3 steps on 1 process on the same global
batch of 4 rows: the same loss logged at step 3 and the same weights.

What makes it hold: one plain SGD step (no optimizer state, constant learning rate) and the data position. The
sampler draws one permutation for the whole launch; on resume each process skips the batches it would have
trained, so step 3 reads the same 4 rows however many processes share them. What the checkpoint cannot carry
over: random state. transformers saves ``rng_state.pth`` from one process and ``rng_state_<rank>.pth`` from several,
and each resumed process looks only for its own name, so after a change of process count no process restores its
stream (logged at info level): a method that samples (dropout, generation) draws differently from an uninterrupted
run. TALR's tiny model samples nothing.

The resumed run is configured with a different (untrained, other seed) base model, so only loading the
checkpoint's weights can give the uninterrupted run's result.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from safetensors.torch import load_file

from hfplug.config import parse_train_config
from hfplug.testing import make_tiny_model, save_model_dir, write_jsonl
from hfplug.train import run_training

COMPLETIONS = [" 5", " six, I think", " 5 is the answer", " the quick brown fox", " 12", " a b c d e f", " no"]
ROWS = [{"prompt": f"Question {i}: what is {i} plus 3? Answer:", "completion": COMPLETIONS[i % 7]} for i in range(16)]
RUN = {
    "trainer": "talr",
    "tau": 1.0,  # the dynamic tau is a median over each process's micro-batch: it changes with the process count
    "dataset": "train.jsonl",
    "optim": "sgd",
    "learning_rate": 0.5,
    "max_grad_norm": 0.0,
    "lr_scheduler_type": "constant",
    "seed": 0,
    "logging_steps": 1,
    "save_strategy": "steps",
    "save_steps": 1,
    "report_to": "none",
    "bf16": False,
    "activation_checkpointing": False,
}


def _prepare(folder: Path, tokenizer: Any) -> None:
    save_model_dir(make_tiny_model(tokenizer, seed=0), tokenizer, folder / "model")
    save_model_dir(make_tiny_model(tokenizer, seed=1), tokenizer, folder / "other_model")
    write_jsonl(folder / "train.jsonl", ROWS)
    (folder / "run.yaml").write_text(yaml.safe_dump(RUN))


def _arguments(output_dir: str, processes: int, max_steps: int, model: str, resume: str | None) -> list[str]:
    arguments = [
        "--model_name_or_path", model, "--output_dir", output_dir, "--max_steps", str(max_steps),
        "--per_device_train_batch_size", str(4 // processes), "--use_cpu", "true",
    ]  # fmt: skip
    if resume:
        arguments += ["--resume_from_checkpoint", resume]
    if processes > 1:
        arguments += ["--ddp_backend", "gloo"]
    return arguments


def _train(folder: Path, output_dir: str, processes: int, max_steps: int, model: str = "model", resume: str = ""):
    """``hfplug train --config run.yaml`` with ``processes`` processes sharing a global batch of 4 rows."""
    arguments = _arguments(output_dir, processes, max_steps, model, resume)
    if processes == 1:
        cwd = Path.cwd()
        os.chdir(folder)
        try:
            run_training(parse_train_config(folder / "run.yaml", arguments))
        finally:
            os.chdir(cwd)
        return
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes),
        "-m", "hfplug", "train", "--config", "run.yaml", *arguments,
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]


def _step_log(checkpoint: Path, step: int) -> dict[str, Any]:
    history = json.loads((checkpoint / "trainer_state.json").read_text())["log_history"]
    return next(entry for entry in history if entry.get("step") == step and "loss" in entry)


def _assert_resumed_run_matches(folder: Path, resumed: str) -> None:
    full, after = folder / "full" / "checkpoint-3", folder / resumed / "checkpoint-3"
    expected, got = _step_log(full, 3), _step_log(after, 3)
    assert got["loss"] == pytest.approx(expected["loss"], rel=1e-4), (got, expected)
    before = load_file(folder / resumed / "checkpoint-2" / "model.safetensors")
    want, have = load_file(full / "model.safetensors"), load_file(after / "model.safetensors")
    assert sum(float((want[name] - before[name]).abs().sum()) for name in want) > 0, "step 3 changed nothing"
    for name, value in want.items():
        torch.testing.assert_close(have[name], value, rtol=1e-4, atol=1e-6, msg=name)


def test_two_steps_on_one_process_resumed_on_two_equal_three_steps_on_one(tmp_path, tiny_tokenizer):
    _prepare(tmp_path, tiny_tokenizer)
    _train(tmp_path, "full", processes=1, max_steps=3)
    _train(tmp_path, "resumed", processes=1, max_steps=2)
    _train(tmp_path, "resumed", processes=2, max_steps=3, model="other_model", resume="resumed/checkpoint-2")
    _assert_resumed_run_matches(tmp_path, "resumed")


def test_two_steps_on_two_processes_resumed_on_one_equal_three_steps_on_one(tmp_path, tiny_tokenizer):
    _prepare(tmp_path, tiny_tokenizer)
    _train(tmp_path, "full", processes=1, max_steps=3)
    _train(tmp_path, "resumed", processes=2, max_steps=2)
    _train(tmp_path, "resumed", processes=1, max_steps=3, model="other_model", resume="resumed/checkpoint-2")
    _assert_resumed_run_matches(tmp_path, "resumed")
