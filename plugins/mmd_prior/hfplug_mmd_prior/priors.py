"""Target priors for AE-MMD: anything that can be sampled.

A prior is an object with a ``dim`` and ``sample(n, generator=None) -> Tensor (n x dim)``. The
built-in ones are factorized (every dimension independent), which is what makes the latent space
disentangled when the encoder matches them:

- ``gaussian``: ``N(mean, std^2)`` in every dimension (the paper's ``N(0, I)``);
- ``uniform``: ``U(low, high)`` in every dimension;
- ``gmm``: the same 1-D Gaussian mixture in every dimension (multimodal, still factorized);
- ``hybrid``: a different 1-D marginal per block of dimensions, e.g. 6 Gaussian, 4 uniform,
  2 bimodal;
- ``empirical``: rows drawn with replacement from a bank of another model's latents ("latent
  copying"); not factorized unless the bank is.

Specs come from YAML or Python as a name (``"gaussian"``) or a mapping (``{name: uniform, low: -2,
high: 2}``). Another plugin adds a prior by registering a ``model`` component with
``role="mmd_prior"``: a class built as ``cls(dim=..., **params)`` with the same ``sample`` method.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch

from hfplug.errors import ConfigError

PRIOR_ROLE = "mmd_prior"


class Prior(Protocol):
    """What the trainer needs from a prior."""

    dim: int

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor: ...


# -- 1-D marginals -------------------------------------------------------------------------------


@dataclass(frozen=True)
class GaussianMarginal:
    mean: float = 0.0
    std: float = 1.0

    def sample(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        return self.mean + self.std * torch.randn(n, generator=generator)


@dataclass(frozen=True)
class UniformMarginal:
    low: float = -1.0
    high: float = 1.0

    def sample(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        return self.low + (self.high - self.low) * torch.rand(n, generator=generator)


@dataclass(frozen=True)
class MixtureMarginal:
    """A 1-D Gaussian mixture: component ``k`` with probability ``weights[k]``."""

    means: tuple[float, ...] = (-1.5, 1.5)
    stds: tuple[float, ...] = (0.5, 0.5)
    weights: tuple[float, ...] = (0.5, 0.5)

    def sample(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        weights = torch.tensor(self.weights, dtype=torch.float32)
        component = torch.multinomial(weights, n, replacement=True, generator=generator)
        means = torch.tensor(self.means, dtype=torch.float32)[component]
        stds = torch.tensor(self.stds, dtype=torch.float32)[component]
        return means + stds * torch.randn(n, generator=generator)


def _gaussian_marginal(mean: float = 0.0, std: float = 1.0) -> GaussianMarginal:
    _require(std > 0, f"std must be positive, got {std}")
    return GaussianMarginal(float(mean), float(std))


def _uniform_marginal(low: float = -1.0, high: float = 1.0) -> UniformMarginal:
    _require(high > low, f"uniform needs low < high, got low={low}, high={high}")
    return UniformMarginal(float(low), float(high))


def _mixture_marginal(
    means: Sequence[float] = (-1.5, 1.5), stds: Sequence[float] | float = 0.5, weights: Sequence[float] | None = None
) -> MixtureMarginal:
    means = tuple(float(m) for m in means)
    _require(len(means) >= 1, "gmm needs at least one mean")
    stds = tuple(float(s) for s in stds) if isinstance(stds, Sequence) else (float(stds),) * len(means)
    weights = tuple(float(w) for w in weights) if weights is not None else (1.0 / len(means),) * len(means)
    _require(len(stds) == len(means) == len(weights), "gmm means, stds and weights must have the same length")
    _require(all(s > 0 for s in stds), f"gmm stds must be positive, got {list(stds)}")
    _require(all(w >= 0 for w in weights) and sum(weights) > 0, f"gmm weights must be >= 0, got {list(weights)}")
    total = sum(weights)
    return MixtureMarginal(means, stds, tuple(w / total for w in weights))


MARGINALS = {"gaussian": _gaussian_marginal, "uniform": _uniform_marginal, "gmm": _mixture_marginal}


# -- priors ---------------------------------------------------------------------------------------


class FactorizedPrior:
    """Independent dimensions, dimension ``i`` drawn from ``marginals[i]``."""

    def __init__(self, marginals: Sequence[Any]) -> None:
        self.marginals = list(marginals)
        self.dim = len(self.marginals)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.stack([marginal.sample(n, generator) for marginal in self.marginals], dim=1)

    def __repr__(self) -> str:
        return f"FactorizedPrior({self.marginals!r})"


class EmpiricalPrior:
    """Rows of a fixed bank of latents, drawn uniformly with replacement."""

    def __init__(self, bank: Any) -> None:
        bank = torch.as_tensor(bank, dtype=torch.float32)
        _require(
            bank.ndim == 2 and len(bank) >= 2,
            f"an empirical bank must be a 2-D array with >= 2 rows, got {tuple(bank.shape)}",
        )
        _require(bool(torch.isfinite(bank).all()), "the empirical bank contains NaN or infinite values")
        self.bank = bank
        self.dim = bank.shape[1]

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.bank[torch.randint(len(self.bank), (n,), generator=generator)]

    def __repr__(self) -> str:
        return f"EmpiricalPrior(bank of {len(self.bank)} x {self.dim})"


def load_latent_bank(path: str | Path) -> torch.Tensor:
    """A bank of latents from ``.npy``, ``.pt`` or ``.safetensors`` (key ``latents``)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"prior.path: {path} does not exist (write one with `hfplug mmd-ae eval --save-latents`).")
    if path.suffix == ".npy":
        import numpy as np

        return torch.from_numpy(np.load(path)).float()
    if path.suffix == ".pt":
        return torch.load(path, weights_only=True).float()
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(path)["latents"].float()
    raise ConfigError(f"prior.path: {path} must be a .npy, .pt or .safetensors file.")


def save_latent_bank(latents: torch.Tensor, path: str | Path) -> Path:
    """Write a bank that ``{name: empirical, path: ...}`` reads back."""
    path = Path(path)
    latents = latents.detach().float().cpu()
    if path.suffix == ".npy":
        import numpy as np

        np.save(path, latents.numpy())
    elif path.suffix == ".pt":
        torch.save(latents, path)
    elif path.suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file({"latents": latents.contiguous()}, path)
    else:
        raise ConfigError(f"--save-latents: {path} must end in .npy, .pt or .safetensors.")
    return path


BUILT_IN = ("gaussian", "uniform", "gmm", "hybrid", "empirical")


def normalize_spec(spec: Any) -> dict[str, Any]:
    """``"gaussian"`` or ``{name: ..., **params}`` (or its JSON text) as a plain dict with a ``name``."""
    if isinstance(spec, str):
        text = spec.strip()
        if text.startswith("{"):
            import json

            try:
                spec = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"prior: {spec!r} is neither a prior name nor a JSON mapping: {exc}") from exc
        else:
            return {"name": text}
    if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str):
        raise ConfigError(f"prior: expected a name or a mapping with a 'name' key, got {spec!r}.")
    return dict(spec)


def build_prior(spec: Any, dim: int) -> Prior:
    """The prior named by ``spec`` for a ``dim``-dimensional latent space.

    Raises :class:`ConfigError` for an unknown name (listing built-in and registered priors), an
    unknown parameter, a bad value, or a prior whose dimension is not ``dim``.
    """
    spec = normalize_spec(spec)
    name, params = spec.pop("name"), spec
    if name in MARGINALS:
        prior: Any = FactorizedPrior([_build_marginal(name, params, f"prior ({name})")] * dim)
    elif name == "hybrid":
        prior = FactorizedPrior(_hybrid_marginals(params))
    elif name == "empirical":
        _only(params, {"path"}, "prior (empirical)")
        _require("path" in params, "prior (empirical) needs a 'path' to a bank of latents")
        prior = EmpiricalPrior(load_latent_bank(params["path"]))
    else:
        prior = _registered_prior(name, dim, params)
    if prior.dim != dim:
        raise ConfigError(f"prior {name!r} has {prior.dim} dimensions but the latent space has latent_dim={dim}.")
    return prior


def _build_marginal(name: str, params: Mapping[str, Any], where: str) -> Any:
    factory = MARGINALS[name]
    try:
        return factory(**params)
    except TypeError as exc:
        import inspect

        allowed = ", ".join(inspect.signature(factory).parameters)
        raise ConfigError(f"{where}: {exc}; its parameters are: {allowed}.") from exc
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def _hybrid_marginals(params: Mapping[str, Any]) -> list[Any]:
    _only(params, {"marginals"}, "prior (hybrid)")
    blocks = params.get("marginals")
    _require(isinstance(blocks, list) and blocks, "prior (hybrid) needs a non-empty 'marginals' list")
    marginals: list[Any] = []
    for index, block in enumerate(blocks):
        where = f"prior (hybrid) marginals[{index}]"
        block = normalize_spec(block)
        name, dims = block.pop("name"), block.pop("dims", 1)
        if name not in MARGINALS:
            raise ConfigError(f"{where}: unknown marginal {name!r}; choose one of {', '.join(MARGINALS)}.")
        if not isinstance(dims, int) or dims < 1:
            raise ConfigError(f"{where}: dims must be a positive integer, got {dims!r}.")
        marginals += [_build_marginal(name, block, where)] * dims
    return marginals


def _registered_prior(name: str, dim: int, params: Mapping[str, Any]) -> Any:
    from hfplug.manager import get_manager

    registry = get_manager().registry
    registered = {n: registry.get("model", n) for n in registry.names("model")}
    custom = {n: c for n, c in registered.items() if c.extras.get("role") == PRIOR_ROLE}
    if name not in custom:
        import difflib

        known = list(BUILT_IN) + sorted(custom)
        close = difflib.get_close_matches(name, known, n=2, cutoff=0.6)
        hint = (" Did you mean " + " or ".join(repr(c) for c in close) + "?") if close else ""
        raise ConfigError(
            f"prior: unknown prior {name!r}.{hint} Known priors: {', '.join(known)} "
            f"(another plugin adds one by registering a model with role={PRIOR_ROLE!r})."
        )
    try:
        prior = custom[name].load()(dim=dim, **params)
    except TypeError as exc:
        raise ConfigError(f"prior ({name}): {exc}") from exc
    if not callable(getattr(prior, "sample", None)) or not isinstance(getattr(prior, "dim", None), int):
        raise ConfigError(f"prior ({name}): {type(prior).__name__} needs an int `dim` and a `sample(n, generator)`.")
    return prior


def sample_prior(prior: Prior, n: int, *, like: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` prior samples on the device and in the dtype of ``like``, their shape checked."""
    samples = prior.sample(n, generator=generator)
    if tuple(samples.shape) != (n, prior.dim):
        raise ConfigError(
            f"prior {prior!r} returned shape {tuple(samples.shape)} for n={n}; expected ({n}, {prior.dim})."
        )
    return samples.to(device=like.device, dtype=like.dtype)


def _only(params: Mapping[str, Any], allowed: set[str], where: str) -> None:
    extra = sorted(set(params) - allowed)
    if extra:
        raise ConfigError(f"{where}: unknown parameter(s) {', '.join(extra)}; it takes {', '.join(sorted(allowed))}.")


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)
