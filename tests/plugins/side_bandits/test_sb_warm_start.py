"""The warm-started LP (basis reuse, and the cached rates of a blind best arm) against cold HiGHS solves."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hfplug_side_bandits.bound import solve_bound
from hfplug_side_bandits.policies.lp_tracking import floored_gaps
from hfplug_side_bandits.warm_start import RateSolver
from hypothesis import given, settings
from hypothesis import strategies as st

INF = math.inf


@st.composite
def walks(draw):
    """A side-information matrix whose arms all observe themselves (so every LP is one linear program,
    the case the basis reuse handles), random side observations, and a random walk of estimated means."""
    k = draw(st.integers(3, 5))
    seen = draw(st.lists(st.lists(st.booleans(), min_size=k, max_size=k), min_size=k, max_size=k))
    stds = draw(st.lists(st.lists(st.floats(0.3, 2.0), min_size=k, max_size=k), min_size=k, max_size=k))
    sigma = np.where(np.array(seen) | np.eye(k, dtype=bool), np.array(stds), INF)
    start = np.array(draw(st.lists(st.floats(0.0, 1.0), min_size=k, max_size=k)))
    step = draw(st.sampled_from([0.003, 0.02, 0.08]))  # small steps keep a basis, large ones change it
    seed = draw(st.integers(0, 2**32 - 1))
    steps = np.random.default_rng(seed).normal(scale=step, size=(12, k))
    return sigma, start + np.cumsum(steps, axis=0)


@settings(deadline=None)
@given(walks())
def test_warm_rates_are_a_cold_optimum_along_random_walks_of_means(walk):
    sigma, means_path = walk
    precision = np.where(np.isinf(sigma), 0.0, 1.0 / sigma**2)
    solver = RateSolver(precision)
    for means in means_path:
        best = int(np.argmax(means))  # the estimated best arm changes along the walk
        gaps = floored_gaps(means, best, 1e-3)
        warm = solver.rates(gaps, best)
        cold = solve_bound(precision, gaps, best)
        others = [i for i in range(len(means)) if i != best]
        assert math.isinf(warm[best])
        assert np.all(warm[others] >= 0)
        assert gaps[others] @ warm[others] == pytest.approx(cold.value, rel=1e-7, abs=1e-9)
        constrained = list(cold.constrained_arms)
        required = 2.0 / gaps[constrained] ** 2
        assert np.all(precision[np.ix_(others, constrained)].T @ warm[others] >= required * (1 - 1e-7))


def test_a_basis_is_reused_while_it_stays_optimal_and_dropped_when_it_does_not():
    # Standard 3-arm bandit: the LP is diagonal, c_j = 2 / Delta_j**2, and one basis stays optimal for all
    # positive gaps. So after the first solve every later one reuses it, and its rates are the closed form.
    precision = np.eye(3)
    solver = RateSolver(precision)
    for gaps in ([0.0, 0.5, 0.8], [0.0, 0.4, 0.9], [0.0, 0.1, 2.0]):
        rates = solver.rates(np.array(gaps), 0)
        np.testing.assert_allclose(rates[1:], 2 / np.array(gaps[1:]) ** 2, rtol=1e-12)
    assert (solver.full_solves, solver.reused) == (1, 2)
    solver.rates(np.array([0.5, 0.0, 0.2]), 1)  # another estimated best arm: a new LP, solved cold
    assert solver.full_solves == 2


def test_a_basis_whose_duals_turn_negative_is_dropped():
    # Arm 1 reveals itself and arm 2 (precision 2); arm 2 reveals itself and arm 1 (0.1). At gaps (0.5, 0.2)
    # the optimum pulls both arms with both constraints tight. At (0.5, 0.3) those rates are still feasible
    # and every reduced cost is 0 (both columns are basic), but the dual of arm 1's constraint is negative:
    # pulling arm 1 alone (11.1 log T, cost 5.56) beats the old basis's rates (cost 5.94).
    precision = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 2.0], [0.0, 0.1, 1.0]])
    solver = RateSolver(precision)
    for gap_2, full_solves in ((0.2, 1), (0.22, 1), (0.3, 2), (0.32, 2)):
        gaps = np.array([0.0, 0.5, gap_2])
        warm = solver.rates(gaps, 0)
        np.testing.assert_allclose(warm[1:], solve_bound(precision, gaps, 0).rates[1:], rtol=1e-9, atol=1e-12)
        assert solver.full_solves == full_solves
    np.testing.assert_allclose(warm[1:], [(2 / 0.32**2) / 2, 0.0], atol=1e-9)  # arm 2 covered through arm 1


def test_a_blind_best_arm_keeps_its_rates_until_a_gap_moves_by_the_tolerance(blind_instance):
    means, sigma = blind_instance
    precision = np.where(np.isinf(sigma), 0.0, 1.0 / np.asarray(sigma) ** 2)
    gaps = np.max(means) - np.asarray(means)
    solver = RateSolver(precision, refresh_tolerance=0.02)
    first = solver.rates(gaps, 0)
    np.testing.assert_array_equal(first, solve_bound(precision, gaps, 0, 1e-6).rates)
    within = gaps * np.array([1.0, 1.019, 0.981, 1.0])  # every gap moved by less than 2 %
    assert solver.rates(within, 0) is first
    assert (solver.full_solves, solver.reused) == (1, 1)
    beyond = gaps * np.array([1.0, 1.0, 1.0, 1.021])  # one gap moved by more than 2 %
    moved = solver.rates(beyond, 0)
    assert solver.full_solves == 2
    np.testing.assert_allclose(moved, solve_bound(precision, beyond, 0, 1e-6).rates)
    no_cache = RateSolver(precision, refresh_tolerance=0.0)
    no_cache.rates(gaps, 0)
    no_cache.rates(gaps.copy(), 0)
    assert (no_cache.full_solves, no_cache.reused) == (2, 0)


def test_a_basis_whose_rate_reaches_exactly_zero_is_still_reused():
    # Arm 1's pull shows arms 1 and 2, arm 2's only arm 2: c_1 >= 2 / Delta_1**2 and c_1 + c_2 >= 2 / Delta_2**2.
    # At gaps (0.5, 0.4) both bind: c = (8, 4.5). At (0.5, 0.5) the same basis gives c = (8, 8 - 8) = (8, 0)
    # exactly, still optimal (a rate of 0 is feasible), so it is reused rather than solved again.
    precision = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0], [0.0, 0.0, 1.0]])
    solver = RateSolver(precision)
    np.testing.assert_allclose(solver.rates(np.array([0.0, 0.5, 0.4]), 0)[1:], [8.0, 4.5], rtol=1e-9)
    rates = solver.rates(np.array([0.0, 0.5, 0.5]), 0)
    assert rates[1:].tolist() == [8.0, 0.0]
    assert (solver.full_solves, solver.reused) == (1, 1)


def test_the_same_gaps_asked_again_reuse_the_basis_despite_round_off():
    # Gaps near the floor make the required precision ~1e6: recomputing the tight constraint from the basis gives a
    # slack of about -6e-11 (round-off), far inside the relative tolerance 1e-9 * required, so it counts as tight.
    precision = np.array([[0.3, 2.9, 0.0, 0.3], [0.0, 1.0, 0.7, 1.3], [2.9, 0.0, 1.0, 0.3], [1.3, 0.0, 0.7, 0.3]])
    gaps = np.array([0.0, 0.0013, 0.0021, 0.0013])
    solver = RateSolver(precision)
    first = solver.rates(gaps, 0)
    again = solver.rates(gaps.copy(), 0)
    assert (solver.full_solves, solver.reused) == (1, 1)
    np.testing.assert_allclose(again, first, rtol=1e-9)


def test_an_arm_known_exactly_through_another_action_is_left_out_of_the_basis():
    # Action 2 observes arm 1 exactly (std 0): arm 1 needs no rate, so only arm 2's constraint is in the LP and
    # its one-constraint basis is reused at the same gaps, with the cold solve's rates.
    precision = np.array([[1.0, 0.0, 0.0], [0.0, 0.25, 0.0], [0.0, INF, 1.0]])
    gaps = np.array([0.0, 0.3, 0.5])
    solver = RateSolver(precision)
    first = solver.rates(gaps, 0)
    again = solver.rates(gaps.copy(), 0)
    assert (solver.full_solves, solver.reused) == (1, 1)
    np.testing.assert_allclose(again[1:], solve_bound(precision, gaps, 0).rates[1:], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(again, first, rtol=1e-9)


def test_the_refresh_tolerance_is_relative_to_each_gap(blind_instance):
    means, sigma = blind_instance
    precision = np.where(np.isinf(sigma), 0.0, 1.0 / np.asarray(sigma) ** 2)
    gaps = np.max(means) - np.asarray(means)  # 0, 0.3, 0.4, 1.0
    solver = RateSolver(precision, refresh_tolerance=0.02)
    solver.rates(gaps, 0)
    solver.rates(gaps * np.array([1.0, 1.0, 1.021, 1.0]), 0)  # the 0.4 gap moved by 2.1 % (0.0084 absolute)
    assert (solver.full_solves, solver.reused) == (2, 0)


# Gaps x 1e4 and 1e6 make precisions of 1e-9 and 1e-13, which HiGHS took for zero before the bound's LP rows
# were divided by their requirements (the cold solve itself was wrong then: 10.8e4 for 10.375e4).
@pytest.mark.parametrize(
    ("gap_unit", "rate_unit"),
    [(1e3, 1.0), (1e-3, 1.0), (1e4, 1.0), (1e6, 1.0), (1.0, 1e-6), (1.0, 1e-12), (1.0, 1e6)],
)
def test_basis_reuse_does_not_depend_on_the_units_of_gaps_or_rates(gap_unit, rate_unit):
    # Gaps times u and precisions divided by u**2 * v leave the LP the same up to units: rates times v, value
    # times u * v. The warm start's tolerances are relative, so it keeps and drops its basis at the same steps as
    # in unit scale (the walk of the negative-dual test: one basis change, then a basis with a slack row), with
    # the same rates. Absolute tolerances would count the slack row tight when required is ~1e-6 (gaps x 1e3), or
    # every rate zero when rates are ~1e-6.
    precision = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 2.0], [0.0, 0.1, 1.0]])
    walk = [np.array([0.0, 0.5, gap_2]) for gap_2 in (0.2, 0.22, 0.3, 0.32, 0.32)]
    plain = RateSolver(precision)
    expected = [plain.rates(gaps, 0) for gaps in walk]
    scaled = RateSolver(precision / (gap_unit**2 * rate_unit))
    got = [scaled.rates(gaps * gap_unit, 0) for gaps in walk]
    assert (plain.full_solves, plain.reused) == (2, 3)
    assert (scaled.full_solves, scaled.reused) == (2, 3)
    for rates, unit_rates in zip(got, expected, strict=True):
        np.testing.assert_allclose(rates[1:] / rate_unit, unit_rates[1:], rtol=1e-9, atol=1e-12)


def test_a_reduced_cost_negative_within_the_tolerance_of_the_largest_cost_keeps_the_basis():
    # Arms 1 and 2 see only themselves; arm 3 (seen by the best arm, so unconstrained) sees both at precision 1e4.
    # At arm 3's gap 2e4 the optimum pulls arms 1 and 2 (duals 0.5 each). At gap 1e4 - 1e-7 arm 3's reduced
    # cost is 1e4 - 1e-7 - 1e4 * (0.5 + 0.5) = -1e-7: -1e-11 of the largest cost, inside the relative tolerance
    # 1e-9 * max cost, so the basis is reused (its cost 8 is 8e-11 above the optimum, 8e-4 pulls of arm 3).
    precision = np.array([[1.0, 0.0, 0.0, 1.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 1e4, 1e4, 0.0]])
    solver = RateSolver(precision)
    solver.rates(np.array([0.0, 0.5, 0.5, 2e4]), 0)
    near_tie = np.array([0.0, 0.5, 0.5, 1e4 - 1e-7])
    rates = solver.rates(near_tie, 0)
    assert (solver.full_solves, solver.reused) == (1, 1)
    assert rates[1:].tolist() == [8.0, 8.0, 0.0]
    assert near_tie @ np.where(np.isinf(rates), 0.0, rates) == pytest.approx(solve_bound(precision, near_tie, 0).value)


def test_a_blind_best_arm_is_solved_again_even_when_its_rates_sit_on_an_lp_vertex():
    # The best arm sees only arm 3; arm 2 sees itself and the best arm at precision 1e10, so the best arm's mean is
    # learnt almost for free and the blind optimum is within ~1e-10 of the LP the arm would have if it saw itself:
    # both constraints tight to 1e-9, two positive rates. Still that LP's basis must not stand in for the blind
    # bound: with no refresh tolerance each call is a full solve with the blind solve's exact rates.
    precision = np.array([[0.0, 0.0, 0.0, 1.0], [0.0, 1.0, 0.0, 0.0], [1e10, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    gaps = np.array([0.0, 0.5, 0.4, 0.7])
    cold = solve_bound(precision, gaps, 0, 1e-6)
    assert not cold.optimal_arm_observes_itself
    np.testing.assert_allclose(cold.rates[1:], [8.0, 12.5, 0.0], rtol=1e-9)
    solver = RateSolver(precision)
    solver.rates(gaps, 0)
    again = solver.rates(gaps.copy(), 0)
    assert (solver.full_solves, solver.reused) == (2, 0)
    np.testing.assert_array_equal(again, cold.rates)


@pytest.mark.parametrize("unit", [1.0, 1e-6, 1e4, 1e6])
def test_the_bound_is_unit_free(unit):
    """Rewards in other units (gaps times u, precisions over u**2): C* times u, the same rates. By hand: the best
    arm sees only itself, so a_1 = c_1 + 0.1 c_2 >= 2 / 0.5**2 = 8 and a_2 = 2 c_1 + c_2 >= 2 / 0.2**2 = 50; of
    the vertices (25, 0) costing 12.5, (0, 80) costing 16 and (3.75, 42.5) where both bind, the last is the
    minimum: C* = 0.5 * 3.75 + 0.2 * 42.5 = 10.375."""
    precision = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 2.0], [0.0, 0.1, 1.0]])
    bound = solve_bound(precision / unit**2, np.array([0.0, 0.5, 0.2]) * unit, 0)
    assert bound.value == pytest.approx(10.375 * unit, rel=1e-9)
    np.testing.assert_allclose(bound.rates[1:], [3.75, 42.5], rtol=1e-9)
