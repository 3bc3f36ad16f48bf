"""Run a policy on many seeds at once: one NumPy step per round for all seeds together.

A round costs a few small array operations whatever the number of seeds, so 20 seeds run at nearly the
speed of one; only LP tracking's LP solves are per seed (and rare once it exploits).
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from hfplug.errors import ConfigError
from hfplug_side_bandits.estimates import Estimates
from hfplug_side_bandits.instance import Instance, MatrixLike, make_instance
from hfplug_side_bandits.policies import Policy, make_policy
from hfplug_side_bandits.results import Results
from hfplug_side_bandits.streams import NormalStream, seed_generators

DEFAULT_CHECKPOINTS = 60
_PROGRESS_EVERY = 2048


def checkpoint_rounds(horizon: int, count: int = DEFAULT_CHECKPOINTS) -> np.ndarray:
    """About ``count`` rounds spaced evenly in ``log t`` from 1 to ``horizon`` (always including it)."""
    grid = np.unique(np.round(np.geomspace(1, horizon, num=max(count, 2))).astype(int))
    return np.union1d(grid, [horizon])


def check_horizon(horizon: object) -> int:
    """``horizon`` as a positive int, or a :class:`ConfigError`."""
    if isinstance(horizon, bool) or not isinstance(horizon, numbers.Integral) or horizon <= 0:
        raise ConfigError(f"horizon must be a positive integer number of rounds; got {horizon!r}.")
    return int(horizon)


def check_seeds(seeds: int | Sequence[int]) -> list[int]:
    """An int ``n`` means seeds ``0..n-1``; a list must hold distinct non-negative ints."""
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        if seeds <= 0:
            raise ConfigError(f"seeds must be a positive count or a list of seeds; got {seeds!r}.")
        return list(range(int(seeds)))
    try:
        values = list(seeds)  # type: ignore[arg-type]
    except TypeError:
        raise ConfigError(f"seeds must be a positive count or a list of seeds; got {seeds!r}.") from None
    if not values:
        raise ConfigError("seeds is empty; give at least one seed.")
    for value in values:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
            raise ConfigError(f"every seed must be a non-negative integer; got {value!r}.")
    if len(set(values)) != len(values):
        raise ConfigError(f"seeds must be distinct; got {values}.")
    return [int(v) for v in values]


def simulate(
    policy: str | Policy,
    means: Sequence[float] | np.ndarray,
    sigma: MatrixLike,
    horizon: int,
    seeds: int | Sequence[int],
    *,
    options: dict[str, Any] | None = None,
    checkpoints: int | Sequence[int] = DEFAULT_CHECKPOINTS,
    progress: bool = True,
) -> Results:
    """Simulate ``policy`` (a name from ``POLICIES`` or a :class:`Policy`) for ``horizon`` rounds on each seed.

    ``seeds`` is a count (seeds ``0..n-1``) or a list; ``options`` configure a policy given by name;
    ``checkpoints`` is how many log-spaced rounds to record (or the rounds themselves). Returns
    :class:`Results` with pseudo-regret ``sum_t Delta_{I_t}`` and pulls per arm at each checkpoint.
    All inputs are checked before the first round.
    """
    instance = make_instance(means, sigma)
    horizon = check_horizon(horizon)
    seed_list = check_seeds(seeds)
    rounds = _checkpoints(checkpoints, horizon)
    agent = make_policy(policy, options)
    agent.start(instance, len(seed_list))
    started = time.perf_counter()
    regret, pulls = _run(agent, instance, horizon, seed_list, rounds, progress)
    return Results(
        policy=agent.name,
        options=agent.options(),
        instance=instance,
        horizon=horizon,
        seeds=seed_list,
        rounds=rounds,
        regret=regret,
        pulls=pulls,
        stats={**agent.stats(), "wall_seconds": time.perf_counter() - started},
    )


def _checkpoints(checkpoints: int | Sequence[int], horizon: int) -> np.ndarray:
    if isinstance(checkpoints, numbers.Integral) and not isinstance(checkpoints, bool):
        return checkpoint_rounds(horizon, int(checkpoints))
    rounds = np.unique(np.asarray(list(checkpoints), dtype=int))
    if len(rounds) == 0 or rounds[0] < 1 or rounds[-1] > horizon:
        raise ConfigError(f"checkpoints must be rounds between 1 and the horizon {horizon}; got {list(checkpoints)}.")
    return rounds


def _run(
    agent: Policy, instance: Instance, horizon: int, seeds: list[int], rounds: np.ndarray, progress: bool
) -> tuple[np.ndarray, np.ndarray]:
    generators = [seed_generators(seed) for seed in seeds]
    noise = NormalStream([g[0] for g in generators], instance.n_arms)
    policy_noise = NormalStream([g[1] for g in generators], instance.n_arms) if agent.needs_random else None
    estimates = Estimates(instance, len(seeds), side_observations=agent.side_observations)
    gaps = instance.gaps
    rows = np.arange(len(seeds))
    cumulative = np.zeros(len(seeds))
    pulls = np.zeros((len(seeds), instance.n_arms), dtype=np.int64)
    regret_at = np.zeros((len(seeds), len(rounds)))
    pulls_at = np.zeros((len(seeds), len(rounds), instance.n_arms), dtype=np.int64)
    next_checkpoint = 0
    bar = tqdm(total=horizon, desc=f"{agent.name} x {len(seeds)} seeds", unit="round", disable=not progress)
    for t in range(1, horizon + 1):
        draws = policy_noise.next() if policy_noise is not None else None
        actions = agent.select(t, estimates, pulls, draws)
        cumulative += gaps[actions]
        pulls[rows, actions] += 1
        estimates.update(actions, noise.next())
        if t == rounds[next_checkpoint]:
            regret_at[:, next_checkpoint] = cumulative
            pulls_at[:, next_checkpoint] = pulls
            next_checkpoint = min(next_checkpoint + 1, len(rounds) - 1)
        if t % _PROGRESS_EVERY == 0 or t == horizon:
            bar.update(t - bar.n)
    bar.close()
    return regret_at, pulls_at
