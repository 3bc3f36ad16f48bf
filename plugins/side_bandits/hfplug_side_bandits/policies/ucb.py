"""UCB1 (own rewards only) and UCB-N (every side observation, Caron et al. 2012), Gaussian indices."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from hfplug_side_bandits.estimates import Estimates
from hfplug_side_bandits.policies.base import Policy, require_positive


@dataclass
class UCBConfig:
    """Index ``mean_j + sqrt(exploration * log t / precision_j)``; with unit noise, precision = pulls."""

    exploration: float = field(
        default=2.0,
        metadata={"help": "Exploration constant alpha [code: 2 is UCB1's 2 log t / n for unit-variance Gaussians]."},
    )

    def __post_init__(self) -> None:
        require_positive(self.exploration, "exploration")


class UCB1(Policy):
    """UCB1: each arm's index uses only its own rewards; needs every ``sigma[i][i]`` finite."""

    name = "ucb1"
    config_class = UCBConfig
    side_observations = False

    def select(self, t: int, estimates: Estimates, pulls: np.ndarray, draws: np.ndarray | None) -> np.ndarray:
        precision = estimates.precision
        unobserved, first = self.unobserved(precision)
        with np.errstate(divide="ignore", invalid="ignore"):
            bonus = np.sqrt(self.config.exploration * math.log(t) / precision)
        return np.where(unobserved, first, np.argmax(estimates.means + bonus, axis=1))


class UCBN(UCB1):
    """UCB-N: the same index computed from every observation, side observations included."""

    name = "ucb_n"
    side_observations = True
