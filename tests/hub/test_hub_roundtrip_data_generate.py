"""Round trips of datasets and custom_generate strategies through the local Hub test double."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import torch

from hfplug.hub import detect_kind, push

torch.set_num_threads(1)

ROWS = {
    "train": {"prompt": ["2+3=", "7-4=", "1+1="], "completion": ["5", "3", "2"]},
    "test": {"prompt": ["4+4="], "completion": ["8"]},
}


def test_saved_dataset_round_trip_with_load_dataset(local_hub, tmp_path: Path):
    from datasets import Dataset, DatasetDict, load_dataset

    output = tmp_path / "data"
    DatasetDict({split: Dataset.from_dict(rows) for split, rows in ROWS.items()}).save_to_disk(str(output))
    before = sorted(p.relative_to(output).as_posix() for p in output.rglob("*"))
    assert detect_kind(output) == "dataset"
    repo = local_hub.repo_id("tiny-arith")

    url = push(output, repo)

    assert f"/datasets/{repo}/commit/" in url
    loaded = load_dataset(repo)
    assert sorted(loaded) == ["test", "train"]
    for split, rows in ROWS.items():
        assert loaded[split].to_dict() == rows
    assert sorted(p.relative_to(output).as_posix() for p in output.rglob("*")) == before  # folder not touched


def test_data_files_folder_round_trip(local_hub, tmp_path: Path):
    from datasets import load_dataset

    output = tmp_path / "jsonl"
    output.mkdir()
    lines = [json.dumps({"text": f"line {i}"}) for i in range(5)]
    (output / "train.jsonl").write_text("\n".join(lines) + "\n")
    repo = local_hub.repo_id("tiny-text")

    push(output, repo)

    loaded = load_dataset(repo, split="train")
    assert loaded["text"] == [f"line {i}" for i in range(5)]


CONSTANT_STRATEGY = '''
import torch


def generate(model, inputs=None, generation_config=None, **kwargs):
    """Appends token TOKEN max_new_tokens times: easy to tell apart from any built-in decoding."""
    generation_config = generation_config or model.generation_config
    steps = kwargs.get("max_new_tokens") or generation_config.max_new_tokens
    filler = torch.full((inputs.shape[0], steps), TOKEN, dtype=inputs.dtype, device=inputs.device)
    return torch.cat([inputs, filler], dim=-1)
'''


def _strategy_folder(root: Path, token: int = 7) -> Path:
    folder = root / f"constant{token}"
    (folder / "custom_generate").mkdir(parents=True)
    (folder / "custom_generate" / "generate.py").write_text(CONSTANT_STRATEGY.replace("TOKEN", str(token)))
    (folder / "custom_generate" / "requirements.txt").write_text("torch\n")
    return folder


def test_custom_generate_round_trip(local_hub, tiny_model, tmp_path: Path):
    folder = _strategy_folder(tmp_path)
    assert detect_kind(folder) == "custom_generate"
    repo = local_hub.repo_id("constant7")

    push(folder, repo)

    ids = torch.tensor([[1, 2, 3]])
    out = tiny_model.generate(ids, custom_generate=repo, trust_remote_code=True, max_new_tokens=4)
    assert out.tolist() == [[1, 2, 3, 7, 7, 7, 7]]


def test_custom_generate_pinned_revision_runs_the_code_of_that_revision(local_hub, tiny_model, tmp_path: Path):
    from huggingface_hub import HfApi

    repo = local_hub.repo_id("constant-versions")
    push(_strategy_folder(tmp_path, token=7), repo)
    reviewed = HfApi().model_info(repo).sha
    push(_strategy_folder(tmp_path, token=8), repo)  # a later commit changes the code

    ids = torch.tensor([[1]])
    pinned = tiny_model.generate(ids, custom_generate=repo, trust_remote_code=True, revision=reviewed, max_new_tokens=2)
    latest = tiny_model.generate(ids, custom_generate=repo, trust_remote_code=True, max_new_tokens=2)
    assert pinned.tolist() == [[1, 7, 7]]
    assert latest.tolist() == [[1, 8, 8]]


def test_custom_generate_from_hub_works_without_hfplug(local_hub, tiny_model, tmp_path: Path):
    """A plain transformers user (hfplug not importable) runs the pushed strategy, pinned by revision."""
    from huggingface_hub import HfApi

    folder = _strategy_folder(tmp_path)
    repo = local_hub.repo_id("constant7-plain")
    push(folder, repo)
    revision = HfApi().model_info(repo).sha
    model_dir = tmp_path / "model"
    tiny_model.save_pretrained(model_dir)
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["hfplug"] = None  # any import of hfplug now fails
        import torch
        from transformers import AutoModelForCausalLM
        model = AutoModelForCausalLM.from_pretrained({str(model_dir)!r})
        out = model.generate(torch.tensor([[4, 5]]), custom_generate={repo!r}, trust_remote_code=True,
                             max_new_tokens=3, revision={revision!r})
        print(out.tolist())
        """
    )
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-c", script]
    result = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "[[4, 5, 7, 7, 7]]"
