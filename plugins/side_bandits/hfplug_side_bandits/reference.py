"""A plain Python loop over rounds for one seed: the slow, obvious version of the simulator.

Written separately from the vectorised code (scalars and lists, no shared policy logic; only the noise
protocol of :mod:`streams` and the LP solver of :mod:`warm_start` are shared), so that the tests can check the
simulator against it on the same random draws, and the benchmark can measure the speed-up against it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hfplug_side_bandits.instance import MatrixLike, make_instance
from hfplug_side_bandits.policies import make_policy
from hfplug_side_bandits.policies.lp_tracking import forced_exploration_level
from hfplug_side_bandits.streams import NormalStream, seed_generators
from hfplug_side_bandits.warm_start import RateSolver


@dataclass
class ReferenceRun:
    """Every action, the cumulative pseudo-regret after each round and the final pulls per arm."""

    actions: list[int]
    regret: list[float]
    pulls: list[int]
    lp_solves: int


def simulate_reference(
    policy: str,
    means: Sequence[float],
    sigma: MatrixLike,
    horizon: int,
    seed: int,
    options: dict[str, Any] | None = None,
) -> ReferenceRun:
    """Run ``policy`` (by name, with ``options``) for ``horizon`` rounds on one seed, one round at a time."""
    instance = make_instance(means, sigma)
    config = make_policy(policy, options).config
    k = instance.n_arms
    mu = [float(m) for m in instance.means]
    side = policy != "ucb1"
    sd = [[float(instance.sigma[i][j]) if (side or i == j) else math.inf for j in range(k)] for i in range(k)]
    noise_generator, policy_generator = seed_generators(seed)
    noise = NormalStream([noise_generator], k)
    draws = NormalStream([policy_generator], k) if policy == "thompson" else None
    explorer = [_most_precise_action(sd, j) for j in range(k)]
    best_mean = max(mu)
    weighted_sum, finite_precision, known = [0.0] * k, [0.0] * k, [False] * k
    pulls, actions, regret = [0] * k, [], []
    total = 0.0
    lp = RateSolver(instance.precision, getattr(config, "lp_refresh_tolerance", 0.0))
    for t in range(1, horizon + 1):
        precision = [math.inf if known[j] else finite_precision[j] for j in range(k)]
        estimate = [
            mu[j] if known[j] else (weighted_sum[j] / finite_precision[j] if finite_precision[j] > 0 else 0.0)
            for j in range(k)
        ]
        z = draws.next()[0].tolist() if draws is not None else None
        missing = [j for j in range(k) if precision[j] == 0]
        if missing:
            action = explorer[missing[0]]
        elif policy in ("ucb1", "ucb_n"):
            index = [estimate[j] + math.sqrt(config.exploration * math.log(t) / precision[j]) for j in range(k)]
            action = index.index(max(index))
        elif policy == "thompson":
            sample = [estimate[j] + config.posterior_scale / math.sqrt(precision[j]) * z[j] for j in range(k)]
            action = sample.index(max(sample))
        else:
            action = _lp_tracking_step(t, config, instance, estimate, precision, pulls, explorer, lp)
        actions.append(action)
        total += best_mean - mu[action]
        regret.append(total)
        pulls[action] += 1
        row = noise.next()[0].tolist()
        for j in range(k):
            s = sd[action][j]
            if s == 0:
                known[j] = True
            elif s != math.inf:
                weighted_sum[j] += 1.0 / s**2 * mu[j] + 1.0 / s * row[j]
                finite_precision[j] += 1.0 / s**2
    return ReferenceRun(actions, regret, pulls, lp.full_solves)


def _most_precise_action(sd: list[list[float]], j: int) -> int:
    smallest = min(row[j] for row in sd)
    if sd[j][j] == smallest:
        return j
    return next(i for i, row in enumerate(sd) if row[j] == smallest)


def _lp_tracking_step(t, config, instance, estimate, precision, pulls, explorer, lp) -> int:
    k = len(estimate)
    best = estimate.index(max(estimate))
    log_t = math.log(t)
    worst = math.inf
    exact = [any(row[m] == 0 for row in instance.sigma) for m in range(k)]
    sees_itself = instance.sigma[best][best] != math.inf or exact[best]
    for j in range(k):
        if j == best:
            continue
        gap = estimate[best] - estimate[j]
        sees_j = instance.sigma[best][j] != math.inf or exact[j]
        if config.exploitation_test == "arm_precision" or (config.exploitation_test == "auto" and sees_itself):
            effective = precision[j]
        elif config.exploitation_test == "auto" and sees_j:
            effective = precision[best]
        elif math.isinf(precision[best]):
            effective = precision[j]
        elif math.isinf(precision[j]):
            effective = precision[best]
        else:
            effective = precision[best] * precision[j] / (precision[best] + precision[j])
        worst = min(worst, 0.0 if gap == 0 else gap**2 / 2.0 * effective)
    if worst >= (1.0 + config.gamma) * log_t:
        return best
    level = forced_exploration_level(config, t)
    starved = [j for j in range(k) if precision[j] < level]
    if starved:
        return explorer[min(starved, key=lambda j: precision[j])]
    if config.best_arm_catch_up and sees_itself and any(precision[j] > precision[best] for j in range(k) if j != best):
        return best
    gaps = [0.0 if j == best else max(estimate[best] - estimate[j], config.gap_floor) for j in range(k)]
    rates = lp.rates(np.array(gaps), best).tolist()
    ratios = [pulls[i] / rates[i] if i != best and rates[i] > 0 else math.inf for i in range(k)]
    arm = ratios.index(min(ratios))
    return best if ratios[arm] >= (1.0 + config.gamma) * log_t else arm
