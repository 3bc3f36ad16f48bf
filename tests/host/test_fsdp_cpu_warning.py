"""A CPU run that asks for FSDP is told that accelerate (1.16) did not shard it: its FSDP path is gated to
GPU-like devices, and on CPU a launch silently trains plain data parallel with a full model per process."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import pytest
import torch
import yaml
from accelerate.utils import DistributedType
from datasets import Dataset

from hfplug.config import parse_train_config
from hfplug.distributed import warn_if_fsdp_not_applied
from hfplug.train import build_trainer


def _accelerator(distributed_type: DistributedType, device: str = "cpu", main: bool = True) -> SimpleNamespace:
    """The parts of an Accelerator the check reads, as accelerate sets them up in a launched process."""
    state = SimpleNamespace(distributed_type=distributed_type)
    return SimpleNamespace(state=state, device=torch.device(device), is_main_process=main)


def _warnings(accelerator: SimpleNamespace, args: SimpleNamespace) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn_if_fsdp_not_applied(accelerator, args)
    return [str(warning.message) for warning in caught]


@pytest.fixture
def no_fsdp_env(monkeypatch):
    monkeypatch.delenv("ACCELERATE_USE_FSDP", raising=False)


def test_an_accelerate_fsdp_config_on_cpu_that_became_data_parallel_is_named(monkeypatch):
    # What `accelerate launch --config_file fsdp2.yaml` on CPU gives every process: the FSDP flag in the
    # environment, and a MULTI_CPU state.
    monkeypatch.setenv("ACCELERATE_USE_FSDP", "true")
    [message] = _warnings(_accelerator(DistributedType.MULTI_CPU), SimpleNamespace(fsdp=None))
    assert "FSDP was requested" in message
    assert "MULTI_CPU, not FSDP" in message
    assert "not sharded" in message


def test_the_trainer_fsdp_field_counts_as_a_request(no_fsdp_env):
    [message] = _warnings(_accelerator(DistributedType.MULTI_CPU), SimpleNamespace(fsdp=["full_shard"]))
    assert "FSDP was requested" in message


@pytest.mark.parametrize(
    ("accelerator", "fsdp"),
    [
        (_accelerator(DistributedType.MULTI_CPU), None),  # FSDP never asked for: plain DDP as intended
        (_accelerator(DistributedType.MULTI_CPU), []),
        (_accelerator(DistributedType.FSDP), ["full_shard"]),  # sharded (as torch can on CPU once the gate lifts)
        (_accelerator(DistributedType.MULTI_GPU, device="cuda"), ["full_shard"]),  # not this CPU-only gate
        (_accelerator(DistributedType.MULTI_CPU, main=False), ["full_shard"]),  # said once, by the main process
    ],
)
def test_no_warning_where_nothing_was_lost_or_it_was_already_said(no_fsdp_env, accelerator, fsdp):
    assert _warnings(accelerator, SimpleNamespace(fsdp=fsdp)) == []


def test_hfplug_warns_when_it_builds_the_trainer(tmp_path, tiny_model, tiny_tokenizer, monkeypatch):
    """Through build_trainer, with accelerate's real state in this process (one CPU process: NO)."""
    run = {"trainer": "sft", "model_name_or_path": "model", "dataset": "train.jsonl", "output_dir": str(tmp_path)}
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(run | {"report_to": "none", "use_cpu": True}))
    setup = parse_train_config(tmp_path / "run.yaml")
    train = Dataset.from_dict({"text": ["the quick brown fox"] * 4})
    monkeypatch.setenv("ACCELERATE_USE_FSDP", "true")
    with pytest.warns(UserWarning, match="FSDP was requested, but accelerate set this CPU run up as NO"):
        build_trainer(setup, tiny_model, tiny_tokenizer, train, None)
    monkeypatch.delenv("ACCELERATE_USE_FSDP")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.filterwarnings("ignore", message="(?!FSDP was requested)")
        build_trainer(setup, tiny_model, tiny_tokenizer, train, None)
