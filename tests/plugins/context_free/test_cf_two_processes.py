"""Under a launch (`accelerate launch`/torchrun, 2 CPU processes), every process builds the same context-free
training set as one process: the samples are drawn with the run's seed, not the process's, and the two processes
writing the same cache entry leave one complete file."""

from __future__ import annotations

import json
import textwrap

import yaml

from hfplug.testing import run_data_parallel

from .conftest import write_task_file

SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import torch
    from hfplug.config import parse_train_config
    from hfplug.data import DataContext
    from hfplug.train import prepare_datasets

    torch.set_num_threads(1)
    config, model_dir, out = sys.argv[1], sys.argv[2], sys.argv[3]
    setup = parse_train_config(config)
    context = DataContext(model_name_or_path=model_dir, seed=setup.trainer_config.seed)
    train, _ = prepare_datasets(setup, context)
    rank = int(os.environ.get("RANK", "0"))
    with open(f"{out}/rank{rank}.json", "w") as handle:
        json.dump(train.to_list(), handle)
    """
)


def test_every_process_builds_the_one_process_training_set(tmp_path, monkeypatch, tiny_model_dir):
    model_dir = tiny_model_dir
    data_file = write_task_file(tmp_path / "task.jsonl", rows=9)
    config = {
        "trainer": "sft",
        "model_name_or_path": str(model_dir),
        "dataset": str(data_file),
        "data": [{"name": "context_free", "ratio": 0.25, "max_new_tokens": 6, "batch_size": 2, "progress": False}],
        "output_dir": str(tmp_path / "out"),
        "report_to": "none",
        "use_cpu": True,
        "seed": 11,
    }
    config_file = tmp_path / "config.yaml"
    config_file.write_text(yaml.safe_dump(config))

    results = {}
    for processes in (1, 2):
        cache = tmp_path / f"cache{processes}"
        out = tmp_path / f"out{processes}"
        out.mkdir()
        monkeypatch.setenv("HFPLUG_CACHE", str(cache))
        run_data_parallel(SCRIPT, tmp_path, str(config_file), str(model_dir), str(out), nproc=processes)
        results[processes] = [json.loads((out / f"rank{rank}.json").read_text()) for rank in range(processes)]
        (entry,) = (cache / "data" / "context_free").glob("*.json")  # one entry, and no temporary file left
        assert len(json.loads(entry.read_text())["samples"]) == 3  # round(0.25 * 9 / 0.75)
        assert not list((cache / "data" / "context_free").glob(".*.tmp"))

    (single,) = results[1]
    assert len(single) == 12
    assert results[2] == [single, single]
