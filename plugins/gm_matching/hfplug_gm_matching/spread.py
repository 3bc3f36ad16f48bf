"""The batched (partitioned) variant across processes: each process herds its share of the batches, and every
process ends with every batch's picks, so the ranking is the one a single process computes."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def process_share(enabled: bool) -> tuple[int, int]:
    """(rank, world size) of the initialised torch.distributed process group when ``enabled``, else (0, 1)."""
    from hfplug.distributed import is_distributed

    if not (enabled and is_distributed()):
        return 0, 1
    import torch.distributed as dist

    return dist.get_rank(), dist.get_world_size()


def herd_parts(count: int, herd_part: Callable[[int], np.ndarray], *, enabled: bool) -> list[np.ndarray]:
    """``herd_part(i)`` for every batch ``i < count``: batch ``i`` runs on process ``i % world``, the results are
    exchanged (``all_gather_object``, a collective every process must reach) and returned in batch order."""
    rank, world = process_share(enabled)
    mine = {part: herd_part(part) for part in range(rank, count, world)}
    if world == 1:
        return [mine[part] for part in range(count)]
    import torch.distributed as dist

    everyone: list[dict[int, np.ndarray] | None] = [None] * world
    dist.all_gather_object(everyone, mine)
    merged = {part: order for shares in everyone for part, order in shares.items()}
    return [merged[part] for part in range(count)]
