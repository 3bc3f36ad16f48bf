"""What every policy shares: the interface the simulator calls, the first-observation rule, options."""

from __future__ import annotations

import dataclasses
import math
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from hfplug.errors import ConfigError
from hfplug_side_bandits.estimates import Estimates
from hfplug_side_bandits.instance import Instance


class Policy(ABC):
    """A bandit policy run on many seeds at once.

    Subclasses set ``name``, ``config_class`` (a dataclass of documented options) and whether they use
    side observations and a random stream; :meth:`start` prepares one simulation, :meth:`select`
    returns one action per seed for round ``t`` (1-based).
    """

    name: ClassVar[str]
    config_class: ClassVar[type]
    side_observations: ClassVar[bool] = True
    needs_random: ClassVar[bool] = False

    def __init__(self, config: Any = None, **options: Any) -> None:
        if config is not None and options:
            raise ConfigError(f"give {self.name} either a config object or keyword options, not both.")
        self.config = config if config is not None else make_config(self.config_class, options, self.name)
        if not isinstance(self.config, self.config_class):
            raise ConfigError(f"{self.name} takes a {self.config_class.__name__}, got {type(self.config).__name__}.")
        self.instance: Instance | None = None
        self.explorer = np.zeros(0, dtype=int)

    def start(self, instance: Instance, n_seeds: int) -> None:
        """Prepare a simulation of ``n_seeds`` runs on ``instance`` (called once, before round 1)."""
        self.instance = instance
        self.explorer = first_observation_actions(instance, self.side_observations)
        self._all_observed = False

    @abstractmethod
    def select(self, t: int, estimates: Estimates, pulls: np.ndarray, draws: np.ndarray | None) -> np.ndarray:
        """Actions for round ``t`` on every seed; ``draws`` are this round's policy normals when ``needs_random``."""

    def stats(self) -> dict[str, Any]:
        """Counters worth reporting after a run (LP solves, rounds per branch, ...)."""
        return {}

    def options(self) -> dict[str, Any]:
        """The options as a plain dict (saved with the results)."""
        return dataclasses.asdict(self.config)

    def unobserved(self, precision: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Seeds on which some arm has no observation yet, and the action that observes the first such arm."""
        if self._all_observed:  # after the first few rounds: skip the work
            return self._none_missing
        missing = precision == 0
        some = missing.any(axis=1)
        self._all_observed = not some.any()
        self._none_missing = (some, self.explorer[missing.argmax(axis=1)])
        return self._none_missing


def first_observation_actions(instance: Instance, side_observations: bool) -> np.ndarray:
    """For each arm ``j``, the action that observes it most precisely (``j`` itself among equals, else
    the lowest index); without side observations, ``j`` itself, which must then observe itself."""
    if not side_observations:
        blind = np.flatnonzero(instance.precision.diagonal() == 0)
        if len(blind):
            raise ConfigError(
                f"arm(s) {blind.tolist()} do not observe their own reward (sigma[i][i] = inf), which a policy "
                "without side observations needs; use ucb_n, thompson or lp_tracking."
            )
        return np.arange(instance.n_arms)
    actions = []
    for j in range(instance.n_arms):
        column = instance.precision[:, j]
        candidates = np.flatnonzero(column == column.max())
        actions.append(j if j in candidates else int(candidates[0]))
    return np.array(actions)


def make_config(config_class: type, options: dict[str, Any], policy: str) -> Any:
    """``config_class(**options)``, refusing unknown names and out-of-range values with a clear error."""
    fields = {f.name for f in dataclasses.fields(config_class)}
    unknown = sorted(set(options) - fields)
    if unknown:
        raise ConfigError(f"unknown option(s) {unknown} for policy {policy!r}; its options are {sorted(fields)}.")
    return config_class(**options)


def require(condition: bool, message: str) -> None:
    """Raise a :class:`ConfigError` with ``message`` unless ``condition`` (for config ``__post_init__``)."""
    if not condition:
        raise ConfigError(message)


def require_positive(value: float, name: str) -> None:
    """A config field that must be a finite number > 0."""
    require(
        isinstance(value, int | float) and math.isfinite(value) and value > 0, f"{name} must be a finite number > 0."
    )
