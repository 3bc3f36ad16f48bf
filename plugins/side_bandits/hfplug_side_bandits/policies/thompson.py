"""Thompson sampling with side observations: Gaussian posteriors from every observation (flat prior)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hfplug_side_bandits.estimates import Estimates
from hfplug_side_bandits.policies.base import Policy, require_positive


@dataclass
class ThompsonConfig:
    """Sample ``theta_j ~ N(mean_j, (posterior_scale**2) / precision_j)`` and play the argmax."""

    posterior_scale: float = field(
        default=1.0, metadata={"help": "Multiplies the posterior std [code: 1 is the exact flat-prior posterior]."}
    )

    def __post_init__(self) -> None:
        require_positive(self.posterior_scale, "posterior_scale")


class Thompson(Policy):
    """Thompson sampling; arms are first observed once each, then sampled from their posteriors."""

    name = "thompson"
    config_class = ThompsonConfig
    needs_random = True

    def select(self, t: int, estimates: Estimates, pulls: np.ndarray, draws: np.ndarray | None) -> np.ndarray:
        precision = estimates.precision
        unobserved, first = self.unobserved(precision)
        with np.errstate(divide="ignore", invalid="ignore"):
            spread = self.config.posterior_scale / np.sqrt(precision)
        sample = estimates.means + spread * draws
        return np.where(unobserved, first, np.argmax(sample, axis=1))
