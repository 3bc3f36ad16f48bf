"""LP tracking's per-instance rules checked against their definitions written out arm by arm: which precision
the "auto" exploitation test reads, which best arms count as observing themselves (catch-up), the tracking
stop at exactly the target, and the branch counters (each seed takes exactly one branch per round)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from hfplug_side_bandits import simulate
from hfplug_side_bandits.instance import make_instance
from hfplug_side_bandits.policies import LPTracking, LPTrackingConfig
from hfplug_side_bandits.policies.lp_tracking import (
    ARM,
    BEST_ARM,
    PAIR,
    auto_test_modes,
    forced_exploration_level,
    tracked_arm,
)
from hypothesis import given
from hypothesis import strategies as st

INF = math.inf
STANDARD = ([1.0, 0.9, 0.8], [[1.0, INF, INF], [INF, 1.0, INF], [INF, INF, 1.0]])
BRANCHES = ("first_observation", "exploit", "forced", "catch_up", "track")


def modes_by_definition(precision: np.ndarray) -> np.ndarray:
    """The docstring's rule, one (b, j) at a time: ARM if b observes itself (own precision > 0, or some action
    observes b exactly), else BEST_ARM if b observes j or some action observes j exactly, else PAIR."""
    k = len(precision)
    modes = np.empty((k, k), dtype=int)
    for b in range(k):
        b_known = precision[b, b] > 0 or any(math.isinf(precision[a, b]) for a in range(k))
        for j in range(k):
            j_exact = any(math.isinf(precision[a, j]) for a in range(k))
            modes[b, j] = ARM if b_known else BEST_ARM if precision[b, j] > 0 or j_exact else PAIR
    return modes


@st.composite
def precision_matrices(draw):
    k = draw(st.integers(2, 5))
    entries = st.sampled_from([0.0, 0.0, 0.5, 4.0, INF])
    return np.array(draw(st.lists(st.lists(entries, min_size=k, max_size=k), min_size=k, max_size=k)))


# Action 1 observes arm 0 exactly (a column of the matrix holds inf); no row of arm 0 does, and arm 0 does not
# observe itself: so arm 0 counts as self-observing only through its column.
EXACT_OBSERVER = np.array([[0.0, 1.0, 0.0], [INF, 1.0, 0.0], [1.0, 0.0, 1.0]])


def test_auto_modes_follow_the_definition_on_an_exact_observer_of_a_blind_arm():
    np.testing.assert_array_equal(auto_test_modes(EXACT_OBSERVER), modes_by_definition(EXACT_OBSERVER))
    assert auto_test_modes(EXACT_OBSERVER).tolist() == [[ARM] * 3, [ARM] * 3, [ARM] * 3]
    no_exact = np.array([[0.0, 1.0, 0.0], [0.0, 1.0, INF], [1.0, 0.0, 1.0]])  # action 1 sees arm 2 exactly
    assert auto_test_modes(no_exact).tolist() == [[PAIR, BEST_ARM, BEST_ARM], [ARM] * 3, [ARM] * 3]


@given(precision_matrices())
def test_auto_modes_follow_the_definition_for_every_matrix(precision):
    np.testing.assert_array_equal(auto_test_modes(precision), modes_by_definition(precision))


def _one_round(sigma, precision_estimate, pulls=(5, 5, 5), rounds=1):
    """A fresh policy's counters after ``rounds`` rounds from t = 1000 on estimated means (1.0, 0.9, 0.8) and
    these precisions."""
    policy = LPTracking()
    policy.start(make_instance([1.0, 0.9, 0.8], sigma), 1)
    estimates = SimpleNamespace(means=np.array([[1.0, 0.9, 0.8]]), precision=np.atleast_2d(precision_estimate))
    for t in range(1000, 1000 + rounds):
        policy.select(t, estimates, np.array([pulls]), None)
    return policy.stats()


def _one_round_branch(sigma, precision_estimate):
    """The branch LP tracking takes in that round."""
    stats = _one_round(sigma, precision_estimate)
    return [name for name in BRANCHES if stats[name]]


def test_catch_up_counts_a_blind_best_arm_that_another_action_observes_exactly_as_self_observing():
    # sigma = 1 / sqrt(precision): action 1 observes arm 0 with std 0. Arm 0 is behind arm 1 (20 < 30): catch up.
    exact = [[INF, 1.0, INF], [0.0, 1.0, INF], [1.0, INF, 1.0]]
    assert _one_round_branch(exact, [20.0, 30.0, 25.0]) == ["catch_up"]
    # the same but nothing observes arm 0 exactly (an exact observation of arm 1 instead): no catch-up
    inexact = [[INF, 1.0, INF], [INF, 1.0, INF], [1.0, 0.0, 1.0]]
    assert _one_round_branch(inexact, [20.0, 30.0, 25.0]) == ["track"]


def test_tracking_plays_the_best_arm_when_the_furthest_behind_is_exactly_at_the_target():
    rates, pulls = np.array([INF, 2.0, 4.0]), np.array([0, 6, 12])  # N_i / c_i = 3 for both suboptimal arms
    assert tracked_arm(rates, pulls, 0, 3.0) == 0
    assert tracked_arm(rates, pulls, 0, 3.0 + 1e-9) == 1


def test_a_fresh_policy_counts_one_tracking_round_and_whether_it_played_the_best_arm():
    standard = [[1.0, INF, INF], [INF, 1.0, INF], [INF, INF, 1.0]]
    # the best arm is the most precise (no catch-up); the LP's rates are 2 / gap**2 = (200, 50)
    behind = _one_round(standard, [60.0, 50.0, 40.0], pulls=(100, 5, 5))
    assert [behind[name] for name in (*BRANCHES, "track_best")] == [0, 0, 0, 0, 1, 0]
    reached = _one_round(standard, [60.0, 50.0, 40.0], pulls=(100, 10_000, 10_000))  # N_i / c_i past log t
    assert [reached[name] for name in (*BRANCHES, "track_best")] == [0, 0, 0, 0, 1, 1]
    twice = _one_round(standard, [60.0, 50.0, 40.0], pulls=(100, 10_000, 10_000), rounds=2)
    assert [twice[name] for name in (*BRANCHES, "track_best")] == [0, 0, 0, 0, 2, 2]  # counters accumulate


@pytest.mark.parametrize("instance", ["revealer_instance", "blind_instance"])
def test_every_seed_takes_exactly_one_branch_per_round(instance, request):
    means, sigma = request.getfixturevalue(instance)
    horizon, seeds = 300, 3
    stats = simulate("lp_tracking", means, sigma, horizon, seeds, progress=False).stats
    assert sum(stats[name] for name in BRANCHES) == horizon * seeds
    assert 0 <= stats["track_best"] <= stats["track"]
    assert stats["lp_full_solves"] >= 1
    assert stats["lp_full_solves"] + stats["lp_basis_reused"] == stats["track"]  # one LP answer per tracking round


def _exploits(sigma, t, means, precision_estimate):
    policy = LPTracking()
    policy.start(make_instance(means, sigma), 1)
    estimates = SimpleNamespace(means=np.atleast_2d(means), precision=np.atleast_2d(precision_estimate))
    policy.select(t, estimates, np.zeros((1, len(means)), dtype=int), None)
    return policy.stats()["exploit"] == 1


def test_exploitation_passes_at_exactly_log_t():
    # gap**2 / 2 * P_1 = 0.125 * 8 log t = log t exactly in floating point (powers of two): the test's ">=" passes
    standard = [[1.0, INF], [INF, 1.0]]
    t = 1000
    assert _exploits(standard, t, [1.0, 0.5], [100.0, 8 * math.log(t)])
    assert not _exploits(standard, t, [1.0, 0.5], [100.0, np.nextafter(8 * math.log(t), 0)])


def test_an_exactly_known_arm_tied_with_the_best_is_never_ruled_out():
    # Arm 1 is known exactly (infinite precision) and its mean equals the leader's: gap 0 times precision inf has
    # no value, and an arm with no gap is not ruled out, even at t = 2 where log t < 1.
    exact = [[1.0, INF, INF], [INF, 0.0, INF], [INF, INF, 1.0]]
    assert not _exploits(exact, 2, [1.0, 1.0, 0.0], [100.0, INF, 100.0])
    assert _exploits(exact, 2, [1.0, 0.9, 0.0], [100.0, INF, 100.0])  # a positive gap to it rules it out


def _actions(policy, t, means, precision):
    estimates = SimpleNamespace(means=np.atleast_2d(means), precision=np.atleast_2d(precision))
    return policy.select(t, estimates, np.zeros(np.shape(estimates.means), dtype=int), None).tolist()


def test_forced_exploration_is_strictly_below_the_schedule_and_decided_per_seed():
    t = 1000
    level = forced_exploration_level(LPTrackingConfig(), t)
    policy = LPTracking()
    policy.start(make_instance(*STANDARD), 2)
    means = [[1.0, 0.99, 0.98]] * 2  # gaps too small to exploit; the best arm is the most precise: no catch-up
    _actions(policy, t, means, [[50.0, level, 50.0], [50.0, np.nextafter(level, 0), 50.0]])
    assert policy.stats()["forced"] == 1  # seed 1 only: exactly at s(t) is not starved, and seed 0 is not forced


def test_an_unobserved_arm_is_observed_first_even_without_forced_exploration():
    # With scale 0 nothing is ever starved, so only the first-observation rule picks arm 1's observer.
    policy = LPTracking(forced_exploration_scale=0.0)
    policy.start(make_instance(*STANDARD), 1)
    assert _actions(policy, 50, [[1.0, 0.0, 0.5]], [[5.0, 0.0, 5.0]]) == [1]
