"""Per-seed random streams, drawn in blocks so a vectorised run and a plain loop see the same numbers.

Seed ``s`` owns two independent generators (``SeedSequence(s).spawn(2)``): one for observation noise
and one for a policy's own randomness (Thompson sampling). Each stream hands out one row of K
standard normals per round, drawn ``block`` rows at a time. Because a seed's numbers depend on that
seed alone, seed 3 gives the same run whether it is simulated alone or with nineteen others, and every
policy sees the same observation noise on the same seed (common random numbers).

Round ``t`` reveals ``Y_ij = theta_j + sigma_ij * z_tj`` for the action ``i`` played, with ``z_t``
the round's row: one fresh standard normal per arm per round, whichever action is played.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

BLOCK_ROUNDS = 1024


def seed_generators(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """The (observation noise, policy randomness) generators of one seed."""
    noise, policy = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(noise), np.random.default_rng(policy)


class NormalStream:
    """Rows of standard normals, one ``(n_generators, width)`` array per call, refilled in blocks."""

    def __init__(self, generators: Sequence[np.random.Generator], width: int, block: int = BLOCK_ROUNDS) -> None:
        self.generators = list(generators)
        self.width = width
        self.block = block
        self._buffer = np.empty((0, len(self.generators), width))
        self._next = 0

    def next(self) -> np.ndarray:
        """The next round's row for every generator."""
        if self._next == len(self._buffer):
            draws = [generator.standard_normal((self.block, self.width)) for generator in self.generators]
            self._buffer = np.stack(draws, axis=1)
            self._next = 0
        row = self._buffer[self._next]
        self._next += 1
        return row
