"""`hfplug train` under `accelerate launch` with examples/accelerate/ddp.yaml on two CPU processes: plugins load
in every process, both train, the run record says how the run was spread, and only the main process writes."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import transformers
import yaml

from hfplug.config import parse_train_config
from hfplug.testing import save_model_dir, write_jsonl
from hfplug.train import run_training

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "accelerate"
RUN = {
    "trainer": "sft",
    "model_name_or_path": "model",
    "dataset": "train.jsonl",
    "output_dir": "out",
    "max_steps": 2,
    "per_device_train_batch_size": 2,
    "report_to": "none",
    "save_strategy": "no",
    "logging_steps": 1,
}


def _write_run(folder: Path, model: object, tokenizer: object) -> None:
    save_model_dir(model, tokenizer, folder / "model")
    write_jsonl(folder / "train.jsonl", [{"text": f"the quick brown fox number {i}"} for i in range(16)])
    (folder / "run.yaml").write_text(yaml.safe_dump(RUN))


def test_accelerate_launch_with_the_ddp_example_config_on_two_cpu_processes(tmp_path, tiny_model, tiny_tokenizer):
    _write_run(tmp_path, tiny_model, tiny_tokenizer)
    accelerate = shutil.which("accelerate", path=str(Path(sys.executable).parent)) or "accelerate"
    # The GPU config as shipped; on this CPU-only machine the trainer gets use_cpu and gloo, and bf16 is off.
    command = [
        accelerate, "launch", "--config_file", str(EXAMPLES / "ddp.yaml"), "--num_processes", "2",
        "--main_process_port", "0", "--mixed_precision", "no", "-m", "hfplug", "train", "--config", "run.yaml",
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
    assert info["distributed"] == {"world_size": 2, "backend": "gloo", "distributed_type": "MULTI_CPU"}


def test_a_process_other_than_the_main_one_writes_nothing(tmp_path, tiny_model, tiny_tokenizer, monkeypatch):
    """What rank 1 of a launch does, in one process: it trains and saves, and its output folder stays empty."""
    _write_run(tmp_path, tiny_model, tiny_tokenizer)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(transformers.TrainingArguments, "should_save", property(lambda self: False))
    monkeypatch.setattr(transformers.Trainer, "is_world_process_zero", lambda self: False)
    result = run_training(parse_train_config(tmp_path / "run.yaml", ["--use_cpu", "true"]))
    assert result.metrics["train_loss"] > 0
    written = sorted(str(path.relative_to(tmp_path)) for path in (tmp_path / "out").rglob("*") if path.is_file())
    assert written == [], written


def test_a_single_process_run_records_one_process(tmp_path, tiny_model, tiny_tokenizer, monkeypatch):
    _write_run(tmp_path, tiny_model, tiny_tokenizer)
    monkeypatch.chdir(tmp_path)
    run_training(parse_train_config(tmp_path / "run.yaml", ["--use_cpu", "true", "--max_steps", "1"]))
    info = json.loads((tmp_path / "out" / "hfplug_run.json").read_text())
    assert info["distributed"] == {"world_size": 1, "backend": None, "distributed_type": "NO"}
