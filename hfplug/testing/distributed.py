"""Checking a data-parallel run against one process on the same global batch.

Replicas agreeing is what DDP guarantees whatever the loss is; equality with a single process is what shows
the loss is normalised right across ranks. One plain SGD step without clipping keeps the loss's scale in the
parameters (Adam's first step divides it away, clipping caps it).

``assert_two_processes_match_one`` does the whole check for any trainer: the test supplies Python source that
defines ``make_trainer(output_dir, **sizes)`` (an untrained trainer on a fixed dataset and seed), the sizes of
the distributed run (per process) and of the single run (the global batch), and the logged values that must
agree; the same source runs under a two-process gloo launch and in the test's own process.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# Trainer fields for one exact, comparable step (any TrainingArguments subclass).
EXACT_SGD_STEP: dict[str, Any] = {
    "max_steps": 1,
    "optim": "sgd",
    "learning_rate": 0.1,
    "max_grad_norm": 0.0,
    "lr_scheduler_type": "constant",
    "use_cpu": True,
    "bf16": False,
    "activation_checkpointing": False,
    "report_to": "none",
    "save_strategy": "no",
    "logging_steps": 1,
    "seed": 0,
}

# Launched with the test's source in front of it: train once, then leave what the test compares on disk.
# get_state_dict is a collective under FSDP (it gathers the shards), so every process calls it.
_TRAIN_AND_RECORD = """

import json as _json
import sys as _sys

import torch as _torch

_torch.set_num_threads(1)
_out, _sizes = _sys.argv[1], _json.loads(_sys.argv[2])
_trainer = make_trainer(_out, **_sizes)
_trainer.train()
_rank = _trainer.args.process_index
_state = _trainer.accelerator.get_state_dict(_trainer.model)
_torch.save({name: value.detach().clone() for name, value in _state.items()}, f"{_out}/rank{_rank}.pt")
_sharded = type(next(_trainer.model_wrapped.parameters())).__name__ == "DTensor"
with open(f"{_out}/rank{_rank}.json", "w") as _handle:
    _json.dump({"world_size": _trainer.args.world_size, "sharded": _sharded, "log": _trainer.state.log_history[0]},
               _handle)
"""

# accelerate 1.16 turns a launch into FSDP only on GPU-like devices, though torch's fully_shard runs on CPU with
# gloo: on CPU it silently trains plain data parallel. This lifts that one gate, so that accelerate's own FSDP2
# path (fully_shard per decoder layer, DTensor parameters, the full state dict gathered for saving) runs with the
# trainer under test. Nothing else of accelerate or the trainer is changed.
_FSDP_ON_CPU = """
import accelerate.state as _accelerate_state
from accelerate.utils import DistributedType as _DistributedType

_accelerator_state_init = _accelerate_state.AcceleratorState.__init__


def _fsdp_on_cpu(self, *args, fsdp_plugin=None, **kwargs):
    _accelerator_state_init(self, *args, fsdp_plugin=fsdp_plugin, **kwargs)
    if fsdp_plugin is not None and self.distributed_type == _DistributedType.MULTI_CPU:
        self.distributed_type = _DistributedType.FSDP
        self.fsdp_plugin = fsdp_plugin
        _accelerate_state.PartialState._shared_state["distributed_type"] = _DistributedType.FSDP


_accelerate_state.AcceleratorState.__init__ = _fsdp_on_cpu
"""

# Trainer fields for FSDP2 as examples/accelerate/fsdp2.yaml sets it up.
FSDP2_ARGS: dict[str, Any] = {
    "fsdp": True,
    "fsdp_config": {
        "fsdp_version": 2,
        "reshard_after_forward": True,
        "auto_wrap_policy": "TRANSFORMER_BASED_WRAP",
        "state_dict_type": "FULL_STATE_DICT",
    },
}


def greedy_tokens(trainer: Any, prompt_ids: Sequence[Sequence[int]], count: int) -> list[list[int]]:
    """``count`` tokens the trainer's model generates greedily after each prompt, one prompt at a time (no
    padding), through trl's ``unwrap_model_for_generation`` (under FSDP2 the sharded weights are gathered for
    it). For scripted rollouts whose completions still come from the model under test; a collective under FSDP2:
    every process calls it as often."""
    import torch
    from trl.models import unwrap_model_for_generation

    pad_token_id = trainer.processing_class.pad_token_id
    with unwrap_model_for_generation(trainer.model_wrapped, trainer.accelerator) as model, torch.no_grad():
        return [
            model.generate(
                torch.tensor([list(ids)]),
                max_new_tokens=count,
                min_new_tokens=count,
                do_sample=False,
                pad_token_id=pad_token_id,
            )[0, len(ids) :].tolist()
            for ids in prompt_ids
        ]


def exact_sgd_config(config_class: type, output_dir: str | Path, **overrides: Any) -> Any:
    """``config_class`` (any TrainingArguments subclass) set up for :data:`EXACT_SGD_STEP`; ``overrides`` win.
    Fields the class lacks (``activation_checkpointing`` on plain ``TrainingArguments``) are left out."""
    import dataclasses

    known = {field.name for field in dataclasses.fields(config_class)}
    fields = {name: value for name, value in EXACT_SGD_STEP.items() if name in known}
    fields.update(output_dir=str(output_dir), **overrides)
    return config_class(**fields)


def assert_same_step(distributed: dict[str, Any], single: dict[str, Any], start: dict[str, Any]) -> None:
    """The state dicts after the distributed and the single-process step agree, and the step moved them."""
    import torch

    assert sum(float((single[name] - start[name]).abs().sum()) for name in start) > 0, "the step changed nothing"
    for name, value in single.items():
        torch.testing.assert_close(distributed[name], value, rtol=1e-4, atol=1e-7, msg=name)


def assert_two_processes_match_one(
    source: str,
    workdir: str | Path,
    *,
    per_process: dict[str, Any],
    single: dict[str, Any],
    logged: Sequence[str],
    nproc: int = 2,
    backend: str = "ddp",
) -> list[dict[str, Any]]:
    """One training step of ``make_trainer`` (defined by ``source``) on ``nproc`` gloo processes equals one step
    in this process on the global batch.

    ``per_process`` and ``single`` are the keyword arguments ``make_trainer`` gets in each run (batch sizes,
    gradient accumulation). Checked: every process saw ``nproc`` processes, each name in ``logged`` has the
    same first logged value (``loss``: the mean over processes; a metric logged from one process's share only
    fails here), and the parameters equal the single run's.
    ``backend``: ``"ddp"`` (the replicas must also be identical) or ``"fsdp2"`` (accelerate's FSDP2 with
    :data:`FSDP2_ARGS`, on CPU; the parameters must really be sharded). Returns each process's record
    (``world_size``, ``sharded`` and the first ``log_history`` entry) for further checks.
    """
    import pytest
    import torch

    from hfplug.testing.files import run_data_parallel

    if backend not in ("ddp", "fsdp2"):
        raise ValueError(f"backend must be 'ddp' or 'fsdp2', got {backend!r}.")
    workdir = Path(workdir)
    source = textwrap.dedent(source)
    script = (_FSDP_ON_CPU if backend == "fsdp2" else "") + source + _TRAIN_AND_RECORD
    sizes = per_process | (FSDP2_ARGS if backend == "fsdp2" else {})
    run_data_parallel(script, workdir, str(workdir), json.dumps(sizes), nproc=nproc)
    ranks = [json.loads((workdir / f"rank{rank}.json").read_text()) for rank in range(nproc)]
    params = [torch.load(workdir / f"rank{rank}.pt") for rank in range(nproc)]
    assert all(record["world_size"] == nproc for record in ranks), [record["world_size"] for record in ranks]
    assert all(record["sharded"] == (backend == "fsdp2") for record in ranks), [r["sharded"] for r in ranks]
    if backend == "ddp":
        for other in params[1:]:
            for name, value in params[0].items():
                assert torch.equal(other[name], value), f"the replicas differ after the step: {name}"

    namespace: dict[str, Any] = {}
    exec(compile(source, "<single-process run>", "exec"), namespace)
    trainer = namespace["make_trainer"](str(workdir / "single"), **single)
    model = trainer.accelerator.unwrap_model(trainer.model)
    start = {name: value.detach().clone() for name, value in model.state_dict().items()}
    trainer.train()
    expected = trainer.state.log_history[0]
    for name in logged:
        assert name in expected, f"the single-process run logged no {name!r}: {sorted(expected)}"
        for rank, record in enumerate(ranks):
            got = record["log"].get(name)
            assert got == pytest.approx(expected[name], rel=1e-4, abs=1e-9), (
                f"{name!r} logged by process {rank} of {nproc}: {got}; one process on the global batch: "
                f"{expected[name]}"
            )
    assert_same_step(params[0], model.state_dict(), start)
    return ranks
