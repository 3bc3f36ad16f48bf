"""The LP lower bound on its textbook cases, against independent solvers, and on a blind optimal arm."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from hfplug_side_bandits import lower_bound
from scipy.optimize import minimize

INF = math.inf


@pytest.mark.parametrize("seed", range(6))
def test_standard_bandit_is_lai_robbins(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 7))
    means = rng.normal(size=k)
    noise = rng.uniform(0.3, 2.0, size=k)
    sigma = np.full((k, k), INF)
    np.fill_diagonal(sigma, noise)
    bound = lower_bound(means, sigma)
    best = int(np.argmax(means))
    gaps = means.max() - means
    others = [j for j in range(k) if j != best]
    expected = sum(2 * noise[j] ** 2 / gaps[j] for j in others)
    assert bound.value == pytest.approx(expected, rel=1e-7)
    assert bound.rates[others] == pytest.approx(2 * noise[others] ** 2 / gaps[others] ** 2, rel=1e-7)
    assert bound.optimal_arm == best and math.isinf(bound.rates[best])


@pytest.mark.parametrize("seed", range(4))
def test_full_information_costs_nothing(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 6))
    bound = lower_bound(rng.normal(size=k), rng.uniform(0.1, 3.0, size=(k, k)))
    assert bound.value == 0.0
    assert bound.constrained_arms == ()


def test_an_optimal_arm_that_sees_every_arm_costs_nothing():
    sigma = [[2.0, 2.0, 2.0, 2.0], [INF, 1.0, INF, INF], [INF, INF, 1.0, INF], [INF, INF, INF, 1.0]]
    bound = lower_bound([1.0, 0.9, 0.2, 0.1], sigma)
    assert bound.value == 0.0
    assert np.all(bound.rates[1:] == 0)


def _graph_lp_by_vertex_enumeration(means: np.ndarray, edges: np.ndarray) -> float:
    """The graph-feedback LP (Buccapatnam et al., Wu et al.): min sum c_i Delta_i s.t. for every arm j
    the optimal arm does not observe, sum over in-neighbours i != i* of c_i >= 2 / Delta_j**2.
    Solved by enumerating basic solutions, with no LP solver."""
    best = int(np.argmax(means))
    gaps = means.max() - means
    arms = [i for i in range(len(means)) if i != best]
    rows = [j for j in arms if not edges[best, j]]
    if not rows:
        return 0.0
    matrix = np.array([[1.0 if edges[i, j] else 0.0 for i in arms] for j in rows])
    required = np.array([2.0 / gaps[j] ** 2 for j in rows])
    system = np.vstack([matrix, np.eye(len(arms))])  # constraint rows, then c_i >= 0
    rhs = np.concatenate([required, np.zeros(len(arms))])
    best_value = math.inf
    for active in itertools.combinations(range(len(system)), len(arms)):
        square = system[list(active)]
        if abs(np.linalg.det(square)) < 1e-12:
            continue
        point = np.linalg.solve(square, rhs[list(active)])
        if np.all(system @ point >= rhs - 1e-9):
            best_value = min(best_value, float(gaps[arms] @ point))
    return best_value


@pytest.mark.parametrize("seed", range(8))
def test_graph_feedback_equals_the_graph_lp(seed):
    rng = np.random.default_rng(100 + seed)
    k = int(rng.integers(3, 6))
    means = rng.uniform(0, 1, size=k)
    edges = rng.random((k, k)) < 0.35
    np.fill_diagonal(edges, True)  # graphs with self-loops: every arm observes itself
    sigma = np.where(edges, 1.0, INF)
    assert lower_bound(means, sigma).value == pytest.approx(_graph_lp_by_vertex_enumeration(means, edges), rel=1e-7)


def test_blind_optimal_arm_two_arms_closed_form():
    # Arm 0 (best) sees nothing; arm 1 sees both at std 1. Precision c on both arms, and the alternative
    # meets half way: c * (Delta/2)**2 / 2 * 2 >= 1, so c = 4 / Delta**2 and C* = 4 / Delta (twice Lai-Robbins).
    bound = lower_bound([1.0, 0.6], [[INF, INF], [1.0, 1.0]])
    assert bound.value == pytest.approx(4 / 0.4, rel=1e-6)
    assert not bound.optimal_arm_observes_itself


def test_blind_optimal_arm_worked_example(blind_instance):
    # A = 4 c_3 (only the probe sees arm 0); A >= 2/0.3**2 (arm 1, seen by arm 0) and
    # 1/A + 1/(c_2 + 4 c_3) <= 0.4**2/2 (arm 2): c_3 = 6.25, A = 25 is optimal, C* = 6.25.
    bound = lower_bound(*blind_instance)
    assert bound.value == pytest.approx(6.25, rel=1e-6)
    assert bound.optimal_arm_precision == pytest.approx(25.0, rel=1e-5)


def _kl_rate(rates: np.ndarray, sigma: np.ndarray, means: np.ndarray, alternative: np.ndarray) -> float:
    precision = np.where(np.isinf(sigma), 0.0, 1.0 / sigma**2)
    finite = np.where(np.isinf(rates), 0.0, rates)
    return float(finite @ precision @ ((means - alternative) ** 2) / 2)


def _cheapest_confusing_alternative(rates, sigma, means) -> float:
    """min over alternatives that the optimal arm cannot tell apart (same means on what it observes)
    and under which some arm j beats it, of the rate-weighted KL; by generic optimisation, without
    the bound's pairwise formula."""
    best = int(np.argmax(means))
    observed = ~np.isinf(sigma[best])
    values = []
    for j in range(len(means)):
        if j == best or (observed[j] and observed[best]):
            continue  # the best arm itself, or an arm that can never be made to beat it unnoticed
        meeting = means[j] if observed[j] else means[best] if observed[best] else (means[j] + means[best]) / 2
        start = means.copy()
        start[[j, best]] = meeting  # a feasible start: the two means meet
        constraints = [{"type": "ineq", "fun": lambda x, j=j: x[j] - x[best]}]
        constraints += [{"type": "eq", "fun": lambda x, m=m: x[m] - means[m]} for m in np.flatnonzero(observed)]
        result = minimize(
            lambda x: _kl_rate(rates, sigma, means, x),
            start,
            constraints=constraints,
            method="SLSQP",
            options={"ftol": 1e-12, "maxiter": 500},
        )
        values.append(result.fun)
    return min(values)


@pytest.mark.parametrize("seed", range(4))
def test_blind_optimal_arm_rates_are_feasible_and_tight(seed):
    rng = np.random.default_rng(200 + seed)
    k = 4
    means = np.sort(rng.uniform(0, 1, size=k))[::-1].copy()
    sigma = np.where(rng.random((k, k)) < 0.5, rng.uniform(0.5, 1.5, size=(k, k)), INF)
    sigma[0, 0] = INF  # the best arm never sees itself
    sigma[k - 1] = rng.uniform(0.5, 1.5, size=k)  # the last arm sees everything
    bound = lower_bound(means, sigma)
    assert not bound.optimal_arm_observes_itself
    assert _cheapest_confusing_alternative(bound.rates, sigma, means) >= 1 - 1e-4
    cheaper = np.where(np.isinf(bound.rates), bound.rates, bound.rates * 0.99)
    assert _cheapest_confusing_alternative(cheaper, sigma, means) < 1 - 1e-3


def test_exact_observation_needs_no_log_t_exploration(exact_instance):
    # Arm 1 is seen exactly by arm 2: no constraint on it; arm 2 (gap 0.7) must still be learned.
    bound = lower_bound(*exact_instance)
    assert bound.constrained_arms == (2,)
    assert bound.value == pytest.approx(2 / 0.7, rel=1e-7)


def test_warm_started_rates_equal_a_cold_solve():
    # The policy's LP along a random walk of estimated gaps: reusing the previous basis must give the
    # optimum HiGHS finds from scratch (same objective value, feasible), and must actually be reused.
    from hfplug_side_bandits.bound import solve_bound
    from hfplug_side_bandits.instances import named_instance
    from hfplug_side_bandits.warm_start import RateSolver

    instance = named_instance("graph_star")
    precision = np.where(np.isinf(instance.sigma), 0.0, 1.0 / np.asarray(instance.sigma) ** 2)
    solver = RateSolver(precision)
    rng = np.random.default_rng(0)
    gaps = np.max(instance.means) - np.asarray(instance.means)
    for _ in range(60):
        noisy = np.where(gaps > 0, np.maximum(gaps * (1 + 0.03 * rng.normal(size=len(gaps))), 1e-3), 0.0)
        warm = solver.rates(noisy, 0)
        cold = solve_bound(precision, noisy, 0)
        assert noisy[1:] @ warm[1:] == pytest.approx(cold.value, rel=1e-9)
        required = 2 / noisy[list(cold.constrained_arms)] ** 2
        assert np.all(precision[1:, list(cold.constrained_arms)].T @ warm[1:] >= required * (1 - 1e-9))
    assert solver.reused > 30


def test_the_bound_as_recorded_in_a_run_file(blind_instance):
    bound = lower_bound(*blind_instance)
    record = json.loads(json.dumps(bound.as_dict()))  # what hfplug_run.json keeps: plain JSON, inf as "inf"
    assert set(record) == {
        "value",
        "rates",
        "optimal_arm",
        "gaps",
        "constrained_arms",
        "optimal_arm_observes_itself",
        "optimal_arm_precision",
    }
    assert record["value"] == pytest.approx(6.25, rel=1e-6)
    assert record["rates"][0] == "inf" and record["rates"][1:] == pytest.approx(bound.rates[1:].tolist())
    assert record["optimal_arm"] == 0 and record["gaps"] == pytest.approx([0.0, 0.3, 0.4, 1.0])
    assert record["constrained_arms"] == [2, 3] and record["optimal_arm_observes_itself"] is False
    assert record["optimal_arm_precision"] == pytest.approx(25.0, rel=1e-5)
    # the best arm blind to itself but seen exactly by another action: known, with infinite precision
    seen = lower_bound([1.0, 0.5], [[INF, INF], [0.0, 1.0]]).as_dict()
    assert seen["optimal_arm_precision"] == "inf" and seen["optimal_arm_observes_itself"] is True
    assert lower_bound([1.0, 0.5], [[1.0, INF], [INF, 1.0]]).as_dict()["optimal_arm_precision"] is None


@pytest.mark.parametrize("gap", [0.4, 1.5, 4.0])
def test_blind_optimal_arm_two_arms_closed_form_at_every_gap(gap):
    # C* = 4 / Delta at the optimal precision A = 4 / Delta**2 on the best arm, also where A < 1 (Delta > 2).
    bound = lower_bound([gap, 0.0], [[INF, INF], [1.0, 1.0]])
    assert bound.value == pytest.approx(4 / gap, rel=1e-6)
    assert bound.optimal_arm_precision == pytest.approx(4 / gap**2, rel=1e-4)


@pytest.mark.parametrize(("means", "expected"), [([1.0, 0.5, 0.2], 8 * 0.8), ([3.0, 1.0, 0.0], 0.5 * 3.0)])
def test_a_blind_optimal_arm_that_sees_every_other_arm_only_needs_its_own_precision(means, expected):
    # Arm 0 observes arms 1 and 2 but not itself; only arm 2 observes it. No alternative can raise an arm it
    # observes, so the only constraint is A = a_0 >= max_j 2 / Delta_j**2, bought from arm 2 at Delta_2 per unit.
    sigma = [[INF, 1.0, 1.0], [INF, 1.0, INF], [1.0, INF, 1.0]]
    bound = lower_bound(means, sigma)
    assert bound.constrained_arms == ()
    gaps = max(means) - np.asarray(means)
    assert bound.optimal_arm_precision == pytest.approx(max(2 / gaps[1:] ** 2), rel=1e-9)
    assert bound.value == pytest.approx(expected, rel=1e-9)
    assert bound.rates[1:] == pytest.approx([0.0, max(2 / gaps[1:] ** 2)], abs=1e-9)
