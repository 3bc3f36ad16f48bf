"""Named instances: the textbook special cases and the benchmark's "informative but costly" ones."""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from dataclasses import dataclass

from hfplug.errors import ConfigError

INF = math.inf


@dataclass(frozen=True)
class NamedInstance:
    """Means, side-information matrix and a one-line description."""

    name: str
    means: list[float]
    sigma: list[list[float]]
    description: str


def standard_bandit(means: list[float], noise: float = 1.0) -> list[list[float]]:
    """Each arm reveals only itself, with std ``noise``."""
    k = len(means)
    return [[noise if i == j else INF for j in range(k)] for i in range(k)]


def revealing_arm(
    means: list[float], reveal_noise: float, *, revealer_sees_itself: bool = True, best_sees_itself: bool = True
) -> list[list[float]]:
    """A standard bandit whose last arm also reveals every arm with std ``reveal_noise``."""
    sigma = standard_bandit(means)
    k = len(means)
    sigma[-1] = [reveal_noise] * k
    if not revealer_sees_itself:
        sigma[-1][-1] = INF
    if not best_sees_itself:
        best = max(range(k), key=lambda i: means[i])
        sigma[best][best] = INF
    return sigma


def _revealer() -> NamedInstance:
    means = [1.0, 0.8, 0.8, 0.75, 0.75, 0.0]
    return NamedInstance(
        "revealer",
        means,
        revealing_arm(means, 0.5),
        "5 Gaussian arms + a low-mean arm (gap 1) that reveals all six at std 0.5 (precision 4).",
    )


def _graph_star() -> NamedInstance:
    means = [0.9, 0.7, 0.7, 0.65, 0.6, 0.1]
    return NamedInstance(
        "graph_star",
        means,
        revealing_arm(means, 1.0),
        "Graph feedback (std 1 or nothing): a low-mean hub observes every arm, the others only themselves.",
    )


def _blind_best() -> NamedInstance:
    means = [1.0, 0.7, 0.6, 0.0]
    sigma = [[INF, 1.0, INF, INF], [INF, 1.0, INF, INF], [INF, INF, 1.0, INF], [0.5, 0.5, 0.5, 0.5]]
    return NamedInstance(
        "blind_best",
        means,
        sigma,
        "The best arm observes only arm 1, not itself; a low-mean probe reveals every arm (std 0.5).",
    )


def _tuning() -> NamedInstance:
    means = [0.5, 0.3, 0.25, 0.2, -0.6]
    return NamedInstance(
        "tuning",
        means,
        revealing_arm(means, 0.6),
        "Held-out instance the benchmark tunes each policy's constant on (not reported as a result).",
    )


INSTANCES: dict[str, Callable[[], NamedInstance]] = {
    "revealer": _revealer,
    "graph_star": _graph_star,
    "blind_best": _blind_best,
    "tuning": _tuning,
}


def named_instance(name: str) -> NamedInstance:
    """A named instance, or a :class:`ConfigError` listing the names."""
    if name not in INSTANCES:
        close = difflib.get_close_matches(name, list(INSTANCES), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"unknown instance {name!r}.{hint} Instances: {', '.join(INSTANCES)}.")
    return INSTANCES[name]()
