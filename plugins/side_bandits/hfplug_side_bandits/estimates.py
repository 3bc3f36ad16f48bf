"""Precision-weighted estimates of every arm's mean, one row per seed, updated in place each round.

An observation ``y`` of arm ``j`` with noise std ``sigma`` adds ``1/sigma**2`` to ``j``'s precision and
``y/sigma**2`` to its weighted sum; the estimate is their ratio, the maximum-likelihood (and, under a
flat prior, posterior) mean. An exact observation (``sigma = 0``) fixes the estimate to the true mean
and the precision to ``inf``.
"""

from __future__ import annotations

import numpy as np

from hfplug_side_bandits.instance import Instance


class Estimates:
    """The statistics one policy keeps: with ``side_observations=False`` only each pulled arm's own
    observation is used (UCB1), otherwise everything the action reveals."""

    def __init__(self, instance: Instance, n_seeds: int, *, side_observations: bool) -> None:
        keep = (
            np.ones_like(instance.precision, dtype=bool) if side_observations else np.eye(instance.n_arms, dtype=bool)
        )
        self._means = instance.means
        self._gain = np.where(keep & ~instance.exact, instance.precision, 0.0)
        self._noise = np.where(keep, instance.noise_weight, 0.0)
        self._reveals_exactly = keep & instance.exact
        self.weighted_sum = np.zeros((n_seeds, instance.n_arms))
        self.finite_precision = np.zeros((n_seeds, instance.n_arms))
        self.known = np.zeros((n_seeds, instance.n_arms), dtype=bool)

    def update(self, actions: np.ndarray, noise: np.ndarray) -> None:
        """Add what ``actions[s]`` reveals on seed ``s``, with this round's standard normals ``noise[s]``."""
        gain = self._gain[actions]
        self.weighted_sum += gain * self._means + self._noise[actions] * noise
        self.finite_precision += gain
        self.known |= self._reveals_exactly[actions]

    @property
    def precision(self) -> np.ndarray:
        """Total precision gathered on each arm (``inf`` once observed exactly)."""
        return np.where(self.known, np.inf, self.finite_precision)

    @property
    def means(self) -> np.ndarray:
        """Estimated means; 0 for arms not observed yet (every policy observes each arm first)."""
        ratio = np.divide(
            self.weighted_sum,
            self.finite_precision,
            out=np.zeros_like(self.weighted_sum),
            where=self.finite_precision > 0,
        )
        return np.where(self.known, self._means, ratio)
