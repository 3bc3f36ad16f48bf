"""The forgetting benchmark's --quick grid, end to end on a tiny random model (the real one takes minutes).

It checks the pipeline, not the methods: every method trains through hfplug's config path at two learning
rates, every run is scored, the report has every point with its interval, FLOW's weighting pass truncates like
training, and a second invocation resumes (trains nothing) instead of starting over.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
import yaml

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the benchmarks live beside the package, run from the repository root
    sys.path.insert(0, str(ROOT))

from benchmarks.forgetting import run as benchmark  # noqa: E402
from benchmarks.forgetting.grid import METHODS  # noqa: E402


@pytest.fixture(autouse=True)
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def test_quick_grid_reports_every_point_and_resumes(tmp_path, tiny_model_dir, monkeypatch):
    monkeypatch.setenv("HFPLUG_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "out"
    argv = ["--quick", "--model", str(tiny_model_dir), "--out", str(out), "--no-paper-lrs"]
    assert benchmark.main(argv) == 0

    summary = json.loads((out / "results.json").read_text())
    assert {(p["method"], p["learning_rate"]) for p in summary["points"]} == {
        (name, method.lr_scale * lr) for name, method in METHODS.items() for lr in (1e-5, 1e-4)
    }
    for point in summary["points"]:
        for key in ("target_gain", "general_ppl_increase_pct", "choice_accuracy_change"):
            assert point[key]["low"] <= point[key]["value"] <= point[key]["high"]
    assert {row["method"] for row in summary["matched_target_gain"]} <= set(METHODS) - {"sft"}
    against_lora = summary["matched_target_gain_against_baseline"]
    assert against_lora and {(row["method"], row["reference"]) for row in against_lora} == {("flow_lora", "lora")}
    same_rate = {(row["method"], row["learning_rate"]) for row in summary["same_rate_against_sft"]}
    assert same_rate == {
        (name, lr) for name, method in METHODS.items() if name != "sft" and method.lr_scale == 1 for lr in (1e-5, 1e-4)
    }
    assert "Against SFT at the same learning rate" in (out / "results.md").read_text()
    assert (out / "trade_off.png").stat().st_size > 0
    assert not (out / "models").exists() or not any((out / "models").iterdir())  # trained models were deleted

    flow = yaml.safe_load((out / "configs" / "flow@1e-05.yaml").read_text())
    assert flow["data"][0]["max_length"] == flow["max_length"]

    def must_not_train(config_path):
        raise AssertionError(f"resumed run retrained {config_path}")

    monkeypatch.setattr(benchmark, "train", must_not_train)
    assert benchmark.main(argv) == 0


def test_resuming_with_other_sizes_is_refused(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "settings.json").write_text(json.dumps({"sizes": {}, "model": "other", "seed": 0}))
    with pytest.raises(SystemExit, match="other settings"):
        benchmark.main(["--quick", "--out", str(out)])


def test_a_run_config_carries_the_sizes_schedule_and_rate(tmp_path):
    from benchmarks.forgetting.grid import Run
    from benchmarks.forgetting.sizes import MEDIUM

    path = benchmark.effective_config(Run("lora", 1.5e-3), MEDIUM, "some-model", tmp_path / "train.jsonl", tmp_path)
    config = yaml.safe_load(path.read_text())
    assert config["learning_rate"] == 1.5e-3
    assert (config["lr_scheduler_type"], config["warmup_steps"]) == ("cosine", MEDIUM.warmup_steps)
    assert (config["max_steps"], config["per_device_train_batch_size"]) == (MEDIUM.max_steps, MEDIUM.batch_size)
    assert MEDIUM.train_rows == MEDIUM.max_steps * MEDIUM.batch_size  # one pass over the data, no repeats


def test_run_ids_tell_close_rates_apart():
    from benchmarks.forgetting.grid import plan_runs

    runs = plan_runs(["sft"], (1e-4, 1.5e-4, 2e-4), paper_lrs=False)
    assert [run.run_id for run in runs] == ["sft@1e-04", "sft@1.5e-04", "sft@2e-04"]
