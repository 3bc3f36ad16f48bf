"""The LP at estimated means, re-solved cheaply: reuse the last optimal basis while it stays optimal.

Between two tracking rounds only the costs (estimated gaps) and the right-hand sides (``2 / gap**2``)
of the LP move; its matrix is fixed for a given estimated best arm. A basis (the tight constraints
``R`` and the positive rates ``S``, as many of each) that was optimal stays optimal as long as the
rates it implies, ``c_S = M[R, S]^-1 b_R``, are feasible and its duals ``y = M[R, S]^-T g_S`` are
non-negative with non-negative reduced costs: the KKT conditions, checked here with two small linear
solves. Only when they fail is HiGHS called again (scipy's ``linprog`` takes no starting basis, so
this is our warm start). When the optimal arm does not observe itself the bound is not one LP; there
the previous solution is reused while no gap moved by more than ``refresh_tolerance`` (relative).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hfplug_side_bandits.bound import solve_bound

_TIGHT = 1e-9  # relative slack under which a constraint counts as tight / a rate as zero
# Rates at estimated means need far less precision than the reported bound: their inputs are noisy.
POLICY_SEARCH_TOLERANCE = 1e-6


@dataclass
class _Basis:
    best: int
    others: np.ndarray
    constrained: np.ndarray
    matrix: np.ndarray  # constraint x suboptimal arm: precision each arm's pull gives each constrained arm
    rows: np.ndarray
    columns: np.ndarray


class RateSolver:
    """``c*`` at estimated gaps for one run, with the warm start described in the module docstring."""

    def __init__(self, precision: np.ndarray, refresh_tolerance: float = 0.0) -> None:
        self.precision = precision
        self.refresh_tolerance = refresh_tolerance
        self.full_solves = 0
        self.reused = 0
        self._basis: _Basis | None = None
        self._last: tuple[int, np.ndarray, np.ndarray] | None = None  # best, gaps, rates of the last full solve

    def rates(self, gaps: np.ndarray, best: int) -> np.ndarray:
        """The LP's rates at ``gaps`` (``gaps[best] == 0``, others > 0), ``inf`` for ``best``."""
        if self._basis is not None and self._basis.best == best:
            rates = self._reuse_basis(gaps)
            if rates is not None:
                self.reused += 1
                return rates
        if self._last is not None and self.refresh_tolerance > 0 and self._last[0] == best:
            moved = np.abs(gaps - self._last[1])
            if (moved <= self.refresh_tolerance * np.maximum(self._last[1], 1e-300)).all():
                self.reused += 1
                return self._last[2]
        bound = solve_bound(self.precision, gaps, best, POLICY_SEARCH_TOLERANCE)
        self.full_solves += 1
        self._last = (best, gaps.copy(), bound.rates)
        self._basis = self._basis_of(bound.rates, gaps, best) if bound.optimal_arm_observes_itself else None
        return bound.rates

    def _basis_of(self, rates: np.ndarray, gaps: np.ndarray, best: int) -> _Basis | None:
        others = np.array([i for i in range(len(gaps)) if i != best])
        pinned = (self.precision[best] > 0) | np.isinf(self.precision).any(axis=0)
        constrained = np.array([j for j in others if not pinned[j]], dtype=int)
        if len(constrained) == 0:
            return None
        matrix = self.precision[np.ix_(others, constrained)].T
        required = 2.0 / gaps[constrained] ** 2
        sub_rates = rates[others]
        slack = matrix @ sub_rates - required
        rows = np.flatnonzero(slack <= _TIGHT * required)
        columns = np.flatnonzero(sub_rates > _TIGHT * max(sub_rates.max(), 1e-300))
        if len(rows) != len(columns) or np.linalg.matrix_rank(matrix[np.ix_(rows, columns)]) < len(rows):
            return None  # a degenerate vertex: let HiGHS decide next time
        return _Basis(best, others, constrained, matrix, rows, columns)

    def _reuse_basis(self, gaps: np.ndarray) -> np.ndarray | None:
        basis = self._basis
        assert basis is not None
        required = 2.0 / gaps[basis.constrained] ** 2
        costs = gaps[basis.others]
        square = basis.matrix[np.ix_(basis.rows, basis.columns)]
        try:
            basic = np.linalg.solve(square, required[basis.rows])
            duals = np.linalg.solve(square.T, costs[basis.columns])
        except np.linalg.LinAlgError:
            return None
        sub_rates = np.zeros(len(basis.others))
        sub_rates[basis.columns] = basic
        slack = basis.matrix @ sub_rates - required
        reduced = costs - basis.matrix[basis.rows].T @ duals
        optimal = (
            (basic >= 0).all()
            and (slack >= -_TIGHT * required).all()
            and (duals >= 0).all()
            and (reduced >= -_TIGHT * costs.max()).all()
        )
        if not optimal:
            return None
        rates = np.full(len(gaps), np.inf)
        rates[basis.others] = np.maximum(sub_rates, 0.0)
        return rates
