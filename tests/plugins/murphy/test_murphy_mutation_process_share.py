"""chunks.process_share on simulated processes: data parallelism's mean over processes of each process's scaled
trl loss equals the loss one process computes on every process's rows, computed here from the per-row and
per-token losses directly (no collective: ``total`` is the sum over the simulated processes)."""

from __future__ import annotations

import pytest
import torch
from hfplug_murphy.chunks import process_share

# Real tree rows per process, and the empty filler rows each was padded with (is_node False, no tokens). The last
# process holds one row of one token: a divisor of exactly 1.
NODES, FILLERS = [5, 2, 0, 1], [0, 3, 4, 0]


def simulated_processes(seed: int) -> list[dict[str, torch.Tensor]]:
    generator = torch.Generator().manual_seed(seed)
    processes = []
    for nodes, fillers in zip(NODES, FILLERS, strict=True):
        rows = nodes + fillers
        mask = (torch.rand(rows, 6, generator=generator) < 0.7).long()
        mask[:, 0] = 1
        mask[nodes:] = 0
        if rows == 1:
            mask[0, 1:] = 0
        is_node = torch.arange(rows) < nodes
        processes.append(
            {
                "completion_ids": torch.zeros(rows, 6, dtype=torch.long),
                "completion_mask": mask,
                "is_node": is_node,
                "token_loss": torch.rand(rows, 6, generator=generator) * mask,
            }
        )
    return processes


def summed_over(processes, key):
    """``total`` as the trainer's collective computes it: the sum of every process's count."""
    counts = {
        "rows": [float(p["is_node"].sum()) for p in processes],
        "tokens": [float(p["completion_mask"].sum()) for p in processes],
    }[key]
    return lambda _own: sum(counts)


def test_row_mean_losses_average_to_the_mean_over_every_tree_row():
    processes = simulated_processes(seed=0)
    row_losses = [p["token_loss"].sum(1) / p["completion_mask"].sum(1).clamp(min=1) for p in processes]
    expected = torch.cat([losses[p["is_node"]] for losses, p in zip(row_losses, processes, strict=True)]).mean()
    total = summed_over(processes, "rows")
    shared = []
    for losses, inputs in zip(row_losses, processes, strict=True):
        trl_loss = losses.mean() if len(losses) else torch.tensor(0.0)  # trl: a mean over this process's rows
        shared.append(process_share("grpo", inputs, len(processes), total) * trl_loss)
    assert float(sum(shared) / len(processes)) == pytest.approx(float(expected), rel=1e-6)


def test_bnpo_averages_to_the_mean_over_every_token():
    processes = simulated_processes(seed=1)
    expected = sum(p["token_loss"].sum() for p in processes) / sum(p["completion_mask"].sum() for p in processes)
    total = summed_over(processes, "tokens")
    shared = []
    for inputs in processes:
        trl_loss = inputs["token_loss"].sum() / inputs["completion_mask"].sum().clamp(min=1)  # trl's bnpo
        shared.append(process_share("bnpo", inputs, len(processes), total) * trl_loss)
    assert float(sum(shared) / len(processes)) == pytest.approx(float(expected), rel=1e-6)


def test_globally_normalised_losses_are_left_alone_and_empty_batches_get_one():
    inputs = simulated_processes(seed=2)[0]
    assert process_share("dapo", inputs, 3, lambda own: 99.0) == 1.0
    assert process_share("grpo", inputs, 3, lambda own: 0.0) == 1.0  # no tree row anywhere: nothing to rescale
    with pytest.raises(ValueError, match="cannot share the loss type 'mystery'"):
        process_share("mystery", inputs, 3, lambda own: 1.0)


def test_the_collective_is_given_this_process_count():
    seen = []
    inputs = simulated_processes(seed=3)[1]
    process_share("grpo", inputs, 2, lambda own: seen.append(own) or 10.0)
    process_share("bnpo", inputs, 2, lambda own: seen.append(own) or 10.0)
    assert seen == [float(inputs["is_node"].sum()), float(inputs["completion_mask"].sum())]
