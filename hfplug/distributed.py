"""Collectives a trainer's loss needs when it depends on the whole batch, not on each row alone.

A loss such as MMD between a batch of codes and prior samples is not a sum over rows: under data parallelism
each process would compare only its own share. ``gather_with_grad`` hands every process the whole batch while
gradients still reach the process that computed each row.
"""

from __future__ import annotations

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


def launch_record(accelerator: Any) -> dict[str, Any]:
    """How a run was spread over processes, for its run record: world size, backend, accelerate's distributed
    type (``NO``, ``MULTI_CPU``, ``MULTI_GPU``, ``FSDP``, ``DEEPSPEED``) and the FSDP version when sharded."""
    state = accelerator.state
    record: dict[str, Any] = {
        "world_size": accelerator.num_processes,
        "backend": getattr(state, "backend", None),
        "distributed_type": str(getattr(state.distributed_type, "value", state.distributed_type)),
    }
    plugin = getattr(state, "fsdp_plugin", None)
    if plugin is not None:
        record["fsdp_version"] = plugin.fsdp_version
    return record
