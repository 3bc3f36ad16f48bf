"""Collectives a trainer's loss needs when it depends on the whole batch, not on each row alone.

A loss such as MMD between a batch of codes and prior samples is not a sum over rows: under data parallelism
each process would compare only its own share. ``gather_with_grad`` hands every process the whole batch while
gradients still reach the process that computed each row.

Logged statistics have the same trap: a mean taken per process and micro-batch, then averaged, is not the mean
one process computes on the whole batch. :class:`GlobalStatistics` keeps sums, counts, minima and maxima and
reduces them over processes only when the metrics are read.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import torch
import torch.distributed as dist


def is_distributed() -> bool:
    """True inside an initialised process group of more than one process."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


class _GatherWithGrad(torch.autograd.Function):
    """All-gather along dim 0 (rank order); backward sums the gradient over processes and keeps this rank's rows.

    Every process computes the same loss of the gathered batch and DDP averages the parameter gradients, so
    summing here gives each row exactly the gradient one process on the whole batch would. Only all-reduce
    and all-gather are used: gloo (CPU) has no reduce-scatter.
    """

    @staticmethod
    def forward(ctx: Any, tensor: torch.Tensor) -> torch.Tensor:
        sizes = [torch.zeros(1, dtype=torch.long, device=tensor.device) for _ in range(dist.get_world_size())]
        dist.all_gather(sizes, torch.tensor([tensor.shape[0]], device=tensor.device))
        counts = [int(size) for size in sizes]
        # all_gather needs equal shapes: pad to the longest share (the last batch of an epoch may be shorter).
        padded = tensor.new_zeros((max(counts), *tensor.shape[1:]))
        padded[: tensor.shape[0]] = tensor
        parts = [torch.empty_like(padded) for _ in counts]
        dist.all_gather(parts, padded.contiguous())
        rank = dist.get_rank()
        ctx.rows = (sum(counts[:rank]), sum(counts[: rank + 1]))
        return torch.cat([part[:count] for part, count in zip(parts, counts, strict=True)])

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous().clone()
        dist.all_reduce(grad)
        start, end = ctx.rows
        return grad[start:end]


def gather_with_grad(tensor: torch.Tensor) -> torch.Tensor:
    """Every process's ``tensor`` concatenated along dim 0 in rank order, differentiable with respect to this
    process's rows; ``tensor`` itself outside a multi-process run. Shares may differ in length along dim 0."""
    if not is_distributed():
        return tensor
    return _GatherWithGrad.apply(tensor)


class GlobalStatistics:
    """Means, minima and maxima of values observed over several micro-batches and processes.

    Each ``add_*`` call records one micro-batch's observations as tensors (no device-to-host copy); :meth:`pop`
    all-reduces sums and counts before dividing and reduces extremes with min and max, so every process gets the
    number one process would compute from all observations at once, however they were split over processes and
    accumulation steps. :meth:`pop` is a collective: every process must call it, having added the same names.
    """

    def __init__(self) -> None:
        self._sums: dict[str, torch.Tensor] = {}  # name -> [sum, count]
        self._minima: dict[str, torch.Tensor] = {}

    def __bool__(self) -> bool:
        return bool(self._sums or self._minima)

    def add_mean(self, name: str, values: torch.Tensor) -> None:
        """Add ``values`` (any shape, possibly empty) to the observations whose mean is logged as ``name``."""
        values = values.detach().float()
        observed = torch.stack([values.sum(), values.new_tensor(values.numel())])
        self._sums[name] = observed + self._sums[name] if name in self._sums else observed

    def add_min(self, name: str, values: torch.Tensor) -> None:
        """Add ``values`` to the observations whose minimum is logged as ``name``."""
        self._add_minimum(name, values.detach().float())

    def add_max(self, name: str, values: torch.Tensor) -> None:
        """Add ``values`` to the observations whose maximum is logged as ``name``."""
        # Kept as the minimum of the negated values, so that one all-reduce serves minima and maxima.
        self._add_minimum(name, -values.detach().float(), negated=True)

    def _add_minimum(self, name: str, values: torch.Tensor, negated: bool = False) -> None:
        key = (name, negated)
        low = values.min() if values.numel() else values.new_tensor(float("inf"))
        self._minima[key] = torch.minimum(self._minima[key], low) if key in self._minima else low

    def pop(self) -> dict[str, float]:
        """Every statistic over all processes' observations since the last pop (a name with no observation is
        left out), and start afresh."""
        sum_names, min_keys = sorted(self._sums), sorted(self._minima)
        sums = torch.stack([self._sums[name] for name in sum_names]) if sum_names else None
        minima = torch.stack([self._minima[key] for key in min_keys]) if min_keys else None
        self._sums, self._minima = {}, {}
        if is_distributed():
            if sums is not None:
                dist.all_reduce(sums, op=dist.ReduceOp.SUM)
            if minima is not None:
                dist.all_reduce(minima, op=dist.ReduceOp.MIN)
        result: dict[str, float] = {}
        for name, (total, count) in zip(sum_names, sums.tolist() if sums is not None else [], strict=True):
            if count > 0:
                result[name] = total / count
        for (name, negated), low in zip(min_keys, minima.tolist() if minima is not None else [], strict=True):
            if low != float("inf"):
                result[name] = -low if negated else low
        return result


def launch_record(accelerator: Any) -> dict[str, Any]:
    """How a run was spread over processes, for its run record: world size, backend, accelerate's distributed
    type (``NO``, ``MULTI_CPU``, ``MULTI_GPU``, ``FSDP``, ``DEEPSPEED``) and the FSDP version when sharded.
    A trainer without an accelerator (``None``: a plugin's own loop) gets what the launcher set, ``WORLD_SIZE``."""
    if accelerator is None:
        return {"world_size": int(os.environ.get("WORLD_SIZE", "1")), "backend": None, "distributed_type": None}
    state = accelerator.state
    record: dict[str, Any] = {
        "world_size": accelerator.num_processes,
        "backend": getattr(state, "backend", None),
        "distributed_type": _distributed_type(state),
    }
    plugin = getattr(state, "fsdp_plugin", None)
    if plugin is not None:
        record["fsdp_version"] = plugin.fsdp_version
    return record


def _distributed_type(state: Any) -> str:
    """accelerate's distributed type by its name (``MULTI_CPU``, ``FSDP``, ...), enum member or plain string."""
    return str(getattr(state.distributed_type, "value", state.distributed_type))


def fsdp_requested(args: Any) -> bool:
    """Whether the run asked for FSDP: ``accelerate launch`` with an FSDP config (``ACCELERATE_USE_FSDP``) or the
    trainer's own ``fsdp`` field."""
    return os.environ.get("ACCELERATE_USE_FSDP", "false").lower() == "true" or bool(getattr(args, "fsdp", None))


def warn_if_fsdp_not_applied(accelerator: Any, args: Any) -> None:
    """Warn (on the main process) when a CPU run asked for FSDP and accelerate did not shard the model.

    accelerate 1.16 turns a launch into FSDP only on GPU-like devices; on CPU it trains plain data parallel with
    a whole model in every process, without a word. A user who chose FSDP for memory should hear it before the
    run runs out of memory, or reads numbers as FSDP's that are not. A trainer without an accelerator (a
    plugin's own training loop, ``accelerator`` None) has nothing accelerate could have sharded: no warning.
    """
    if accelerator is None:
        return
    state = accelerator.state
    distributed_type = _distributed_type(state)
    on_cpu = accelerator.device.type == "cpu"
    if not on_cpu or distributed_type == "FSDP" or not fsdp_requested(args) or not accelerator.is_main_process:
        return
    warnings.warn(
        f"FSDP was requested, but accelerate set this CPU run up as {distributed_type}, not FSDP: accelerate "
        "(1.16) shards only on GPU-like devices, so the model is not sharded and every process holds a full copy "
        "of it and of its optimizer state (several processes train plain data parallel, as DDP). Train on GPUs to "
        "shard, or drop the FSDP settings (accelerate config, fsdp) to silence this warning.",
        stacklevel=2,
    )
