"""The asymptotic regret lower bound C* and the exploration rates c* that attain it.

A reconstruction [ours] in the style of Graves and Lai (1997), written out for Gaussian side
observations (arXiv:2505.10698 and Wu, Gyorgy and Szepesvari, NeurIPS 2015 state the setting; their
exact program was not readable to us). A consistent policy pulls arm ``i`` about ``c_i log T`` times;
the precision it gathers on arm ``j`` is ``a_j(c) = sum_i c_i / sigma_ij**2``. It must rule out every
alternative mean vector that the optimal arm ``i*``'s own observations cannot tell apart and under
which ``i*`` is not optimal. With gaps ``Delta``:

* **``i*`` observes itself** (``sigma[i*][i*] < inf``): the means ``i*`` observes are pinned by its
  linearly many pulls, and an alternative must lift one unobserved arm ``j`` above ``theta_{i*}``,
  which costs ``a_j Delta_j**2 / 2``. The bound is the LP

      C* = min_{c >= 0} sum_i c_i Delta_i   s.t.   a_j(c) >= 2 / Delta_j**2   for every j not observed by i*.

  Arms observed by ``i*`` cost nothing (standard bandit: ``C* = sum_j 2 sigma_jj**2 / Delta_j``).

* **``i*`` does not observe itself**: an alternative may also *lower* ``theta_{i*}``. Meeting an
  unobserved arm ``j`` half way costs ``(Delta_j**2 / 2) / (1/A + 1/a_j)`` with ``A = a_{i*}(c)``,
  and an arm ``j`` that ``i*`` observes is beaten by lowering ``theta_{i*}`` alone, costing
  ``A Delta_j**2 / 2``. The constraints ``1/A + 1/a_j <= Delta_j**2 / 2`` are convex, not linear; for
  a fixed ``A`` they are the LP ``a_{i*}(c) >= A``, ``a_j(c) >= 1 / (Delta_j**2/2 - 1/A)`` (and
  ``A >= 2/Delta_j**2`` for the observed ``j``), whose value ``C(A)`` is convex in ``A``, so
  ``C* = min_A C(A)`` is found by a bounded scalar search with one HiGHS LP per evaluation.

An exact observation (``sigma = 0``) is infinite precision: an arm some action observes exactly
needs only ``o(log T)`` pulls of that action, so it adds no constraint. Rates are reported as
``rates[i*] = inf`` (the optimal arm is pulled ``T - O(log T)`` times).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import linprog, minimize_scalar

from hfplug.errors import ConfigError, HfplugError
from hfplug_side_bandits.instance import MatrixLike, make_instance

# Relative width of the interval the scalar search on A ends in; C is flat at its minimum, so the
# value is accurate to far better than this.
SEARCH_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Bound:
    """``value`` is C* (``liminf R_T / log T >= C*``); ``rates[i]`` is ``c*_i``, the ``log T``-rate of
    pulls of arm ``i`` in an optimal solution (``inf`` for the optimal arm)."""

    value: float
    rates: np.ndarray
    optimal_arm: int
    gaps: np.ndarray
    constrained_arms: tuple[int, ...]
    optimal_arm_observes_itself: bool
    optimal_arm_precision: float | None = None
    lp_solves: int = field(default=0, compare=False)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields (``inf`` written as the string ``"inf"``)."""
        return {
            "value": self.value,
            "rates": [_json_number(r) for r in self.rates],
            "optimal_arm": self.optimal_arm,
            "gaps": self.gaps.tolist(),
            "constrained_arms": list(self.constrained_arms),
            "optimal_arm_observes_itself": self.optimal_arm_observes_itself,
            "optimal_arm_precision": None
            if self.optimal_arm_precision is None
            else _json_number(self.optimal_arm_precision),
        }


def _json_number(value: float) -> float | str:
    return "inf" if math.isinf(value) else float(value)


def lower_bound(means: Sequence[float] | np.ndarray, sigma: MatrixLike) -> Bound:
    """C* and c* for the instance (``sigma[i][j]``: noise std of what playing ``i`` reveals about ``j``).

    Raises :class:`hfplug.errors.ConfigError` for malformed input, for an arm no action observes and
    when the best arm is not unique (the bound is then not defined: the gap of a tied arm is 0).
    """
    instance = make_instance(means, sigma)
    best = int(np.argmax(instance.means))
    gaps = instance.gaps
    tied = [j for j in range(instance.n_arms) if j != best and gaps[j] == 0]
    if tied:
        raise ConfigError(
            f"arms {[best, *tied]} share the highest mean {instance.means[best]}; the lower bound needs a "
            "unique optimal arm (every other arm's gap must be > 0)."
        )
    return solve_bound(instance.precision, gaps, best)


class _LinearPrograms:
    """Covering LPs over the suboptimal arms' rates, counting the HiGHS calls."""

    def __init__(self, precision: np.ndarray, gaps: np.ndarray, best: int) -> None:
        self.precision = precision
        self.gaps = gaps
        self.others = [i for i in range(len(gaps)) if i != best]
        self.solves = 0

    def cover(self, columns: list[int], required: np.ndarray) -> tuple[float, np.ndarray]:
        """``min sum_i c_i Delta_i`` over suboptimal ``i`` s.t. ``sum_i c_i precision[i, j] >= required``
        for each ``j`` in ``columns``; returns the value and the rates of the suboptimal arms."""
        if not columns:
            return 0.0, np.zeros(len(self.others))
        coverage = self.precision[np.ix_(self.others, columns)].T
        required = np.asarray(required, dtype=float)
        self.solves += 1
        # Each row divided by its requirement (right-hand side 1): HiGHS takes matrix entries below 1e-9 for zero,
        # so rewards of std ~3e4 (precision ~1e-9) would lose their constraints; in these units they do not.
        result = linprog(
            c=self.gaps[self.others], A_ub=-coverage / required[:, None], b_ub=-np.ones(len(columns)), method="highs"
        )
        if result.status != 0:  # cannot happen for a validated instance: every column is covered
            raise HfplugError(f"the lower-bound LP failed ({result.message}) for gaps {self.gaps.tolist()}")
        return float(result.fun), np.maximum(result.x, 0.0)


def solve_bound(
    precision: np.ndarray, gaps: np.ndarray, best: int, search_tolerance: float = SEARCH_TOLERANCE
) -> Bound:
    """The bound for a precision matrix and gaps (``gaps[best] == 0``, all others > 0).

    The policies call this at estimated means; :func:`lower_bound` validates and calls it at the truth.
    ``search_tolerance`` is the relative width of the final interval of the search over the optimal
    arm's precision (only used when that arm does not observe itself).
    """
    programs = _LinearPrograms(precision, gaps, best)
    others = programs.others
    exactly_known = np.isinf(precision).any(axis=0)
    pinned = (precision[best] > 0) | exactly_known  # means that never need log T exploration
    constrained = [j for j in others if not pinned[j]]
    observes_itself = bool(precision[best, best] > 0 or exactly_known[best])
    optimal_precision: float | None = None
    if observes_itself:
        value, sub_rates = programs.cover(constrained, 2.0 / gaps[constrained] ** 2)
        if precision[best, best] == 0:
            optimal_precision = math.inf
    else:
        value, sub_rates, optimal_precision = _search_optimal_precision(programs, best, constrained, search_tolerance)
    rates = np.full(len(gaps), math.inf)
    rates[others] = sub_rates
    rates.setflags(write=False)
    return Bound(
        value=value,
        rates=rates,
        optimal_arm=best,
        gaps=np.asarray(gaps, dtype=float),
        constrained_arms=tuple(constrained),
        optimal_arm_observes_itself=observes_itself,
        optimal_arm_precision=optimal_precision,
        lp_solves=programs.solves,
    )


def _search_optimal_precision(
    programs: _LinearPrograms, best: int, constrained: list[int], tolerance: float
) -> tuple[float, np.ndarray, float]:
    """``min_A C(A)`` when the optimal arm does not observe itself: ``C(A)`` is the LP with
    ``a_{i*} >= A`` and ``a_j >= 1 / (Delta_j**2/2 - 1/A)``; returns value, rates and ``A``."""
    gaps = programs.gaps
    others = programs.others
    observed = [j for j in others if j not in constrained]
    floor = max((2.0 / gaps[j] ** 2 for j in observed), default=0.0)
    pole = max((2.0 / gaps[j] ** 2 for j in constrained), default=0.0)  # C(A) -> inf as A -> pole

    def cost(optimal_precision: float) -> tuple[float, np.ndarray]:
        if optimal_precision <= pole:
            return math.inf, np.zeros(len(others))
        half_squared = gaps[constrained] ** 2 / 2.0
        required = np.concatenate([[optimal_precision], 1.0 / (half_squared - 1.0 / optimal_precision)])
        return programs.cover([best, *constrained], required)

    if not constrained:  # C(A) grows with A: the smallest allowed A is optimal
        value, rates = cost(floor)
        return value, rates, floor
    # C(A) >= A * m (each unit of precision on i* costs at least m), so the minimiser is below C(A0) / m.
    unit_costs = [gaps[i] / programs.precision[i, best] for i in others if programs.precision[i, best] > 0]
    start = max(floor, 2.0 * pole)
    upper = max(start, cost(start)[0] / min(unit_costs))
    lower = max(floor, pole)
    search = minimize_scalar(
        lambda a: cost(a)[0],
        bounds=(lower, upper),
        method="bounded",
        options={"xatol": tolerance * upper, "maxiter": 500},
    )
    candidates = [float(search.x)] + ([floor] if floor > pole else [])  # the minimum may sit on the bound
    best_precision = min(candidates, key=lambda a: cost(a)[0])
    value, rates = cost(best_precision)
    return value, rates, best_precision
