"""The run config of ``hfplug bandits simulate --config run.yaml`` (and of Python callers who like one)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hfplug.errors import ConfigError
from hfplug_side_bandits.policies import POLICIES


@dataclass
class SimulationConfig:
    """An instance (by name, or means + sigma), a horizon, seeds and the policies to compare."""

    instance: str | None = field(default=None, metadata={"help": "A named instance (see `hfplug bandits instances`)."})
    means: list[float] | None = field(default=None, metadata={"help": "Arm means (with sigma, instead of instance)."})
    sigma: list[list[Any]] | None = field(
        default=None, metadata={"help": "K x K noise stds, sigma[i][j] for what arm i reveals on arm j; 'inf' = none."}
    )
    horizon: int = field(default=10_000, metadata={"help": "Rounds per run."})
    seeds: int = field(default=20, metadata={"help": "Number of seeds (0..seeds-1)."})
    policies: list[str] = field(default_factory=lambda: list(POLICIES), metadata={"help": "Policies to run."})
    options: dict[str, dict[str, Any]] = field(
        default_factory=dict, metadata={"help": "Per-policy options, e.g. {lp_tracking: {gamma: 0.1}}."}
    )
    checkpoints: int = field(default=60, metadata={"help": "Log-spaced rounds at which regret and pulls are kept."})

    def resolve_instance(self) -> tuple[list[float], list[list[Any]]]:
        """``(means, sigma)`` from the named instance or the explicit fields (exactly one of the two)."""
        from hfplug_side_bandits.instances import named_instance

        explicit = self.means is not None or self.sigma is not None
        if self.instance is not None and explicit:
            raise ConfigError("give either instance or means + sigma, not both.")
        if self.instance is not None:
            named = named_instance(self.instance)
            return named.means, named.sigma
        if self.means is None or self.sigma is None:
            raise ConfigError("give an instance name, or both means and sigma.")
        return self.means, self.sigma


def load_simulation_config(path: str, overrides: dict[str, Any]) -> SimulationConfig:
    """A YAML file's fields (if ``path``), then ``overrides`` on top; unknown fields are refused by name."""
    import dataclasses

    import yaml

    values: dict[str, Any] = {}
    if path:
        try:
            with open(path) as handle:
                loaded = yaml.safe_load(handle) or {}
        except OSError as error:
            raise ConfigError(f"cannot read config {path}: {error}") from None
        except yaml.YAMLError as error:
            raise ConfigError(f"{path} is not valid YAML: {error}") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path} must be a YAML mapping of SimulationConfig fields.")
        values.update(loaded)
    values.update({key: value for key, value in overrides.items() if value is not None})
    known = {f.name for f in dataclasses.fields(SimulationConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown config field(s) {unknown}; fields are {sorted(known)}.")
    unknown_policies = sorted(set(values.get("options", {})) - set(POLICIES))
    if unknown_policies:
        raise ConfigError(f"options given for unknown policies {unknown_policies}; policies are {list(POLICIES)}.")
    return SimulationConfig(**values)
