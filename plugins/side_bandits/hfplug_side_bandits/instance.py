"""A side-information bandit instance: arm means and the K x K matrix of observation noise.

``sigma[i][j]`` is the standard deviation of what playing arm ``i`` reveals about arm ``j``:
``inf`` means nothing, ``0`` means the exact mean. Everything the bound, the policies and the
simulator need is derived here once (precisions ``1 / sigma**2``, which arms are observed by whom)
and every bad input is refused here, with an error that names the problem, before any work.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hfplug.errors import ConfigError

MatrixLike = Sequence[Sequence[float | str]] | np.ndarray


@dataclass(frozen=True, eq=False)
class Instance:
    """Validated means and side-information matrix, with the derived precision matrices.

    ``precision[i, j] = 1 / sigma[i, j]**2``: 0 where nothing is revealed, ``inf`` for an exact
    observation. ``noise_weight[i, j] = 1 / sigma[i, j]`` where the observation is noisy, else 0, so
    that a precision-weighted sum can be updated as ``precision * mean + noise_weight * z``.
    """

    means: np.ndarray
    sigma: np.ndarray
    precision: np.ndarray
    noise_weight: np.ndarray
    exact: np.ndarray

    @property
    def n_arms(self) -> int:
        return len(self.means)

    @property
    def gaps(self) -> np.ndarray:
        """``max(means) - means``: the regret of one pull of each arm."""
        return self.means.max() - self.means

    def as_dict(self) -> dict[str, list]:
        """JSON-ready means and sigma (``inf`` written as the string ``"inf"``)."""
        return {"means": self.means.tolist(), "sigma": [[_number_or_inf(v) for v in row] for row in self.sigma]}


def _number_or_inf(value: float) -> float | str:
    return "inf" if math.isinf(value) else float(value)


def _as_float_array(values: object, what: str, ndim: int) -> np.ndarray:
    try:
        array = np.array(values, dtype=float)  # float("inf") parses "inf" strings as well
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{what} must be numbers ('inf' allowed in sigma), got {values!r}: {error}") from None
    if array.ndim != ndim:
        shape = "a list of numbers" if ndim == 1 else "a square K x K matrix (a list of K rows of K numbers)"
        raise ConfigError(f"{what} must be {shape}; got an array of shape {array.shape}.")
    return array


def make_instance(means: Sequence[float] | np.ndarray, sigma: MatrixLike) -> Instance:
    """Validate ``means`` (K numbers) and ``sigma`` (K x K, entries in [0, inf]) into an :class:`Instance`.

    Raises :class:`hfplug.errors.ConfigError` for non-finite means, fewer than two arms, a non-square
    or mis-sized sigma, negative or NaN entries, and an arm that no action observes (column of ``inf``):
    such an arm's mean can never be learned, so no policy has sublinear regret.
    """
    means_array = _as_float_array(means, "means", 1)
    if len(means_array) < 2:
        raise ConfigError(f"a bandit needs at least 2 arms; got {len(means_array)} mean(s).")
    if not np.all(np.isfinite(means_array)):
        raise ConfigError(f"means must be finite numbers; got {means_array.tolist()}.")
    sigma_array = _as_float_array(sigma, "sigma", 2)
    rows, cols = sigma_array.shape
    if rows != cols:
        raise ConfigError(f"sigma must be square (K x K); got {rows} rows and {cols} columns.")
    if rows != len(means_array):
        raise ConfigError(
            f"sigma is {rows} x {cols} but there are {len(means_array)} means; they must match (K = arms)."
        )
    if np.isnan(sigma_array).any():
        i, j = np.argwhere(np.isnan(sigma_array))[0]
        raise ConfigError(f"sigma[{i}][{j}] is NaN; use inf for 'reveals nothing'.")
    if (sigma_array < 0).any():
        i, j = np.argwhere(sigma_array < 0)[0]
        raise ConfigError(f"sigma[{i}][{j}] = {sigma_array[i, j]} is negative; noise standard deviations are >= 0.")
    unobserved = np.flatnonzero(np.isinf(sigma_array).all(axis=0))
    if len(unobserved):
        arms = ", ".join(str(j) for j in unobserved)
        raise ConfigError(
            f"arm(s) {arms} are observed by no action (sigma[:, j] is all inf), so their means can never be "
            "learned and no policy has sublinear regret; give some action a finite sigma on them."
        )
    exact = sigma_array == 0
    finite = np.isfinite(sigma_array) & ~exact
    with np.errstate(divide="ignore"):
        precision = np.where(np.isinf(sigma_array), 0.0, 1.0 / sigma_array**2)
        noise_weight = np.where(finite, 1.0 / np.where(finite, sigma_array, 1.0), 0.0)
    for array in (means_array, sigma_array, precision, noise_weight, exact):
        array.setflags(write=False)
    return Instance(means_array, sigma_array, precision, noise_weight, exact)
