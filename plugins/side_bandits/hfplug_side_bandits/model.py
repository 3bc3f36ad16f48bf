"""``hfplug.load("model", "side_bandits")``: one instance with its bound and simulations as methods."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from hfplug_side_bandits.bound import Bound, lower_bound
from hfplug_side_bandits.instance import MatrixLike, make_instance
from hfplug_side_bandits.instances import named_instance
from hfplug_side_bandits.policies import Policy
from hfplug_side_bandits.results import Results
from hfplug_side_bandits.simulator import simulate


class SideInformationBandit:
    """K Gaussian arms with side-information matrix ``sigma`` (validated on construction)."""

    def __init__(self, means: Sequence[float] | np.ndarray, sigma: MatrixLike) -> None:
        self.instance = make_instance(means, sigma)

    @classmethod
    def named(cls, name: str) -> SideInformationBandit:
        """One of :data:`hfplug_side_bandits.INSTANCES` (``revealer``, ``graph_star``, ...)."""
        named = named_instance(name)
        return cls(named.means, named.sigma)

    def lower_bound(self) -> Bound:
        """C* and c* (:func:`hfplug_side_bandits.lower_bound`)."""
        return lower_bound(self.instance.means, self.instance.sigma)

    def simulate(self, policy: str | Policy, horizon: int, seeds: int | Sequence[int], **kwargs: Any) -> Results:
        """Run a policy on this instance (:func:`hfplug_side_bandits.simulate`)."""
        return simulate(policy, self.instance.means, self.instance.sigma, horizon, seeds, **kwargs)
