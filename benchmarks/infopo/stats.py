"""Bootstrap confidence intervals over questions (or seeds): the unit that was sampled is what is resampled."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

RESAMPLES = 2000
SEED = 0


@dataclass(frozen=True)
class Estimate:
    value: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}]"

    def as_dict(self) -> dict[str, float]:
        return {"value": self.value, "low": self.low, "high": self.high}


def bootstrap(units: Sequence, statistic: Callable[[Sequence], float], level: float = 0.95) -> Estimate:
    """``statistic(units)`` with a percentile bootstrap interval from resampling ``units`` with replacement."""
    rng = random.Random(SEED)
    values = sorted(statistic([units[rng.randrange(len(units))] for _ in units]) for _ in range(RESAMPLES))
    tail = (1 - level) / 2
    return Estimate(
        value=statistic(units),
        low=values[int(tail * (RESAMPLES - 1))],
        high=values[int((1 - tail) * (RESAMPLES - 1))],
    )


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)
