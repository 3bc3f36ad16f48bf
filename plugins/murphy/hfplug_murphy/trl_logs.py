"""trl's reward logs for trees: the names and meaning GRPOTrainer gives them, so nothing GRPO logs is lost.

With one turn Murphy runs GRPOTrainer's own code, which logs these itself. With refinement turns
the scores still come from trl's reward computation, but trl's logging sits inline in its
``_generate_and_score_completions``, which Murphy replaces; this module writes the same keys:

* ``rewards/<func>/mean|std``, ``reward``, ``reward_std``: over the turn-1 samples, the ones GRPO
  would have drawn, so the numbers compare with a GRPO run's (``murphy/reward_all_turns`` covers all).
* ``frac_reward_zero_std``: the share of samples whose advantage normaliser is zero (no learning
  signal), over every sibling group; the normalised quantity is R~, as Murphy's advantages use it.
* values sent by reward functions through ``log_extra`` / ``log_metric``, flushed as trl flushes them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from hfplug_murphy.credit import credit_std
from hfplug_murphy.tree import Node, RolloutTree


def nan_list(values: Sequence[float | None]) -> torch.Tensor:
    return torch.tensor([float("nan") if v is None else v for v in values], dtype=torch.float32)


def log_reward_metrics(
    metrics: dict[str, list[float]],
    names: Sequence[str],
    weights: torch.Tensor,
    trees: Sequence[RolloutTree],
    scale_rewards: str,
    *,
    gather: Callable[[list[Any]], list[Any]] = list,
    batch_credits: Sequence[float | None] | None = None,
) -> None:
    """Append trl's per-batch reward metrics for ``trees`` to ``metrics`` (one mode's metric lists).

    When ``trees`` are one process's share of the batch, ``gather`` concatenates a list over every process
    (trl's metrics are over the gathered batch) and ``batch_credits`` holds every process's credits (for
    ``scale_rewards="batch"``)."""
    from trl.trainer.utils import nanstd

    first = gather([n.func_rewards for t in trees for n in t.nodes if n.depth == 1 and n.func_rewards is not None])
    if first:
        per_func = torch.tensor(first, dtype=torch.float32)
        for i, name in enumerate(names):
            metrics[f"rewards/{name}/mean"].append(torch.nanmean(per_func[:, i]).item())
            metrics[f"rewards/{name}/std"].append(nanstd(per_func[:, i]).item())
        rewards = (per_func * weights.to("cpu", torch.float32).unsqueeze(0)).nansum(dim=1)
        rewards[torch.isnan(per_func).all(dim=1)] = torch.nan  # trl: a row every function refused is not scored
        metrics["reward"].append(torch.nanmean(rewards).item())
        metrics["reward_std"].append(nanstd(rewards).item())
    zero = gather(zero_std_flags(trees, scale_rewards, batch_credits))
    if zero:
        metrics["frac_reward_zero_std"].append(sum(zero) / len(zero))


def zero_std_flags(
    trees: Sequence[RolloutTree], scale_rewards: str, batch_credits: Sequence[float | None] | None = None
) -> list[bool]:
    """Per node of ``trees``: is the standard deviation its advantage is normalised by zero (trl's
    ``is_std_zero``)? With ``scale_rewards="batch"`` that is the deviation of ``batch_credits`` (every node of
    the batch, on every process; by default those of ``trees``)."""
    nodes = [node.credit for tree in trees for node in tree.nodes]
    if scale_rewards == "batch":
        std = credit_std(nodes if batch_credits is None else batch_credits)
        return [bool(torch.isclose(std, torch.zeros(())))] * len(nodes)
    flags = []
    for tree in trees:
        for group in tree.groups:
            credits = nan_list([node.credit for node in tree.members(group)])
            flags += [bool(torch.isclose(credit_std(credits), torch.zeros(())))] * credits.numel()
    return flags


def log_completions(
    logs: dict[str, Any],
    names: Sequence[str],
    nodes: Sequence[Node],
    *,
    calls: Sequence[int] | None = None,
    gather: Callable[[list[Any]], list[Any]] = list,
) -> None:
    """Rows of trl's completions table, one per graded node in grading order (the order ``log_extra`` saw).

    ``calls``: how many of ``nodes`` each scoring call graded on this process (default: one call). The rows of
    each call are gathered over processes (``gather``), as trl gathers each call's ``log_extra`` values, so that
    every column of the table lists the same nodes in the same order."""
    start = 0
    for size in [len(nodes)] if calls is None else calls:
        rows = gather(
            [
                (node.prompt, node.completion, node.func_rewards, node.advantage, node.depth, node.credit)
                for node in nodes[start : start + size]
            ]
        )
        start += size
        for prompt, completion, func_rewards, advantage, depth, credit in rows:
            logs["prompt"].append(prompt)
            logs["completion"].append(completion)
            for name, value in zip(names, func_rewards or [float("nan")] * len(names), strict=True):
                logs["rewards"][name].append(value)
            logs["advantages"].append(advantage)
            logs["extra"]["turn"].append(depth)
            logs["extra"]["credit"].append(credit)


def flush_extra_logs(pending: dict[str, list[Any]], extra: dict[str, Any], rows: int, gather_object: Callable) -> None:
    """Move what reward functions sent through ``log_extra`` for ``rows`` completions into the table (as trl)."""
    for column in sorted(set(gather_object(list(pending)))):
        values = list(pending.get(column, [None] * rows))[:rows]
        extra[column].extend(gather_object(values))
    pending.clear()


def flush_metrics(
    pending: dict[str, list[float]], metrics: dict[str, list[float]], gather_object: Callable, gather: Callable
) -> None:
    """Average what reward functions sent through ``log_metric`` into this batch's metrics (as trl)."""
    for name in sorted(set(gather_object(list(pending)))):
        values = pending.get(name, [])
        stats = gather(torch.tensor([sum(values), len(values)], dtype=torch.float32))
        total, count = stats.view(-1, 2).sum(dim=0).tolist()
        metrics[name].append(total / count)
    pending.clear()
