"""Each policy's rule for one round, checked against the formula written out here, and the defaults the
README tags with a source (plus the [ours] ones, so that changing any of them is a visible decision)."""

from __future__ import annotations

import math
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
from hfplug_side_bandits import simulate
from hfplug_side_bandits.config import SimulationConfig
from hfplug_side_bandits.instance import make_instance
from hfplug_side_bandits.policies import POLICIES, LPTracking, LPTrackingConfig, Thompson, ThompsonConfig, UCBConfig
from hfplug_side_bandits.policies.lp_tracking import forced_exploration_level
from hfplug_side_bandits.reference import simulate_reference
from hfplug_side_bandits.simulator import DEFAULT_CHECKPOINTS

INF = math.inf
STANDARD = ([1.0, 0.9, 0.8], [[1.0, INF, INF], [INF, 1.0, INF], [INF, INF, 1.0]])


def _estimates(means, precision):
    return SimpleNamespace(means=np.atleast_2d(means).astype(float), precision=np.atleast_2d(precision).astype(float))


def _started(policy, instance=STANDARD, seeds=1):
    policy.start(make_instance(*instance), seeds)
    return policy


def test_defaults_tagged_with_a_source_in_the_readme():
    assert UCBConfig().exploration == 2.0  # [code]: UCB1's 2 log t / n
    assert ThompsonConfig().posterior_scale == 1.0  # [code]: the exact flat-prior posterior


def test_lp_tracking_and_simulation_defaults_are_the_documented_ones():
    assert LPTrackingConfig() == LPTrackingConfig(
        gamma=0.0,
        exploitation_test="auto",
        forced_exploration_scale=1.0,
        forced_exploration_schedule="sqrt_log",
        best_arm_catch_up=True,
        gap_floor=1e-3,
        lp_refresh_tolerance=0.02,
    )
    config = SimulationConfig()
    assert (config.horizon, config.seeds, config.checkpoints, DEFAULT_CHECKPOINTS) == (10_000, 20, 60, 60)
    assert config.policies == ["lp_tracking", "ucb1", "ucb_n", "thompson"] == list(POLICIES)
    assert (config.instance, config.means, config.sigma, config.options) == (None, None, None, {})


@pytest.mark.parametrize("t", [2, 3, 10, 15, 16, 100, 1000, 123_456])
@pytest.mark.parametrize("scale", [1.0, 0.3])
def test_forced_exploration_schedules(t, scale):
    log_t = math.log(t)
    sqrt_log = forced_exploration_level(LPTrackingConfig(forced_exploration_scale=scale), t)
    assert sqrt_log == pytest.approx(scale * log_t**0.5, rel=1e-12)
    slower = LPTrackingConfig(forced_exploration_scale=scale, forced_exploration_schedule="log_over_loglog")
    # log t / log log t, whose denominator is below 1 until t = e**e (about 15.2): there s(t) = log t.
    expected = scale * (log_t / math.log(log_t) if t > math.exp(math.e) else log_t)
    assert forced_exploration_level(slower, t) == pytest.approx(expected, rel=1e-12)


def _branch(policy, t, means, precision, pulls=None):
    """The branch LP tracking takes on one seed in round ``t``, and its action."""
    before = dict(policy.stats())
    pulls = np.zeros((1, len(means)), dtype=int) if pulls is None else np.atleast_2d(pulls)
    action = int(policy.select(t, _estimates(means, precision), pulls, None)[0])
    after = policy.stats()
    branches = ("first_observation", "exploit", "forced", "catch_up", "track")
    taken = [name for name in branches if after[name] > before[name]]
    return taken, action


def test_forced_exploration_starts_exactly_below_the_schedule_and_picks_the_least_precise_arm():
    policy = _started(LPTracking())
    t = 1000
    level = math.log(t) ** 0.5  # 2.628
    means = [1.0, 0.99, 0.98]  # gaps too small for the exploitation test
    assert _branch(policy, t, means, [50.0, level * 0.99, level * 0.98]) == (["forced"], 2)
    assert _branch(policy, t, means, [50.0, level * 0.98, level * 0.99]) == (["forced"], 1)
    assert _branch(policy, t, means, [50.0, level * 1.01, level * 1.01])[0] == ["track"]
    scaled = _started(LPTracking(forced_exploration_scale=2.0))
    assert _branch(scaled, t, means, [50.0, level * 1.5, level * 3])[0] == ["forced"]


def test_exploitation_needs_every_arm_ruled_out_at_one_plus_gamma_log_t():
    t, gamma = 500, 0.25
    threshold = (1 + gamma) * math.log(t)
    means = [1.0, 0.5, 0.2]  # gaps 0.5, 0.8: the statistic of arm j is gap_j**2 / 2 * P_j (auto = the arm's own)
    needed = [50.0, threshold * 2 / 0.5**2, threshold * 2 / 0.8**2]
    policy = _started(LPTracking(gamma=gamma))
    assert _branch(policy, t, means, [needed[0], needed[1] * 1.001, needed[2] * 1.001]) == (["exploit"], 0)
    assert _branch(policy, t, means, [needed[0], needed[1] * 1.001, needed[2] * 0.999])[0] != ["exploit"]
    assert _branch(policy, t, means, [needed[0], needed[1] * 0.999, needed[2] * 1.001])[0] != ["exploit"]


def test_the_pairwise_test_uses_both_precisions():
    t = 200
    threshold = math.log(t)
    means = [1.0, 0.5]
    # Delta**2 / 2 * P_0 P_1 / (P_0 + P_1) with P_0 = P_1 = P: Delta**2 / 4 * P.
    needed = threshold * 4 / 0.5**2
    pair = ([1.0, 0.5], [[1.0, INF], [INF, 1.0]])
    policy = _started(LPTracking(exploitation_test="pairwise_glr"), pair)
    assert _branch(policy, t, means, [needed * 1.001] * 2)[0] == ["exploit"]
    assert _branch(policy, t, means, [needed * 0.999] * 2)[0] != ["exploit"]
    # an exactly known arm (infinite precision) leaves the other arm's precision: Delta**2 / 2 * P_j
    exact_best = _started(LPTracking(exploitation_test="pairwise_glr"), ([1.0, 0.5], [[0.0, INF], [INF, 1.0]]))
    assert _branch(exact_best, t, means, [INF, needed * 1.001 / 2])[0] == ["exploit"]
    exact_other = _started(LPTracking(exploitation_test="pairwise_glr"), ([1.0, 0.5], [[1.0, INF], [INF, 0.0]]))
    assert _branch(exact_other, t, means, [needed * 1.001 / 2, INF])[0] == ["exploit"]
    spec_rule = _started(LPTracking(exploitation_test="arm_precision"), pair)
    assert _branch(spec_rule, t, means, [needed * 1.001 / 2] * 2)[0] == ["exploit"]  # P_1 alone suffices


def test_catch_up_plays_the_estimated_best_arm_while_another_is_better_known():
    policy = _started(LPTracking())
    means = [1.0, 0.9, 0.8]
    assert _branch(policy, 1000, means, [20.0, 30.0, 25.0]) == (["catch_up"], 0)
    no_catch_up = _started(LPTracking(best_arm_catch_up=False))
    assert _branch(no_catch_up, 1000, means, [20.0, 30.0, 25.0])[0] == ["track"]


class _RecordingSolver:
    """Stands in for a seed's RateSolver: records the gaps it is asked about, answers fixed rates."""

    def __init__(self, rates):
        self.rates_given = np.asarray(rates, dtype=float)
        self.asked = []
        self.full_solves = self.reused = 0

    def rates(self, gaps, best):
        self.asked.append((gaps.copy(), best))
        return self.rates_given


@pytest.mark.parametrize("floor", [None, 0.05])
def test_tracking_solves_the_lp_at_gaps_raised_to_the_floor(floor):
    policy = _started(LPTracking() if floor is None else LPTracking(gap_floor=floor))
    solver = policy._solvers[0] = _RecordingSolver([INF, 2.0, 1.0])
    means = [1.0, 1.0 - 1e-5, 0.3]
    _branch(policy, 1000, means, [60.0, 50.0, 40.0], pulls=[0, 5, 5])
    ((gaps, best),) = solver.asked
    assert best == 0
    np.testing.assert_array_equal(gaps, [0.0, 1e-3 if floor is None else floor, 0.7])


def test_tracking_plays_the_arm_furthest_behind_its_rate_or_the_best_once_all_reached_it():
    t, gamma = 1000, 0.5
    policy = _started(LPTracking(gamma=gamma))
    policy._solvers[0] = _RecordingSolver([INF, 2.0, 1.0])
    means, precision = [1.0, 0.99, 0.98], [60.0, 50.0, 40.0]
    assert _branch(policy, t, means, precision, pulls=[0, 16, 7]) == (["track"], 2)  # 8 vs 7 pulls per unit rate
    assert _branch(policy, t, means, precision, pulls=[0, 12, 7]) == (["track"], 1)  # 6 vs 7
    # N_i / c_i past (1 + gamma) log t = 10.36 for both: the best arm; at 10.3 arm 2 is still behind
    assert _branch(policy, t, means, precision, pulls=[0, 21, 10.5]) == (["track"], 0)
    assert _branch(policy, t, means, precision, pulls=[0, 21, 10.3]) == (["track"], 2)


def test_ucb_index_is_mean_plus_sqrt_two_log_t_over_precision():
    rng = np.random.default_rng(0)
    means, precision = rng.normal(size=(500, 3)), rng.uniform(1, 40, size=(500, 3))
    t = 777
    for name in ("ucb1", "ucb_n"):
        policy = _started(POLICIES[name](), seeds=500)
        expected = np.argmax(means + np.sqrt(2.0 * math.log(t) / precision), axis=1)
        np.testing.assert_array_equal(policy.select(t, _estimates(means, precision), None, None), expected)


def test_thompson_samples_from_the_flat_prior_posterior():
    rng = np.random.default_rng(1)
    means, precision, draws = rng.normal(size=(500, 3)), rng.uniform(1, 40, size=(500, 3)), rng.normal(size=(500, 3))
    policy = _started(Thompson(), seeds=500)
    expected = np.argmax(means + draws / np.sqrt(precision), axis=1)
    np.testing.assert_array_equal(policy.select(50, _estimates(means, precision), None, draws), expected)


OPTION_SETS = [
    {"exploitation_test": "pairwise_glr"},
    {"exploitation_test": "arm_precision"},
    {"forced_exploration_schedule": "log_over_loglog", "forced_exploration_scale": 2.0},
    {"best_arm_catch_up": False, "gap_floor": 0.05},
]


@pytest.mark.parametrize("options", OPTION_SETS)
def test_every_lp_tracking_option_matches_the_plain_loop(options, revealer_instance):
    means, sigma = revealer_instance
    horizon = 300
    result = simulate("lp_tracking", means, sigma, horizon, [3], options=options, checkpoints=range(1, horizon + 1))
    actions = np.diff(result.pulls[0], axis=0, prepend=0).argmax(axis=1)
    assert actions.tolist() == simulate_reference("lp_tracking", means, sigma, horizon, 3, options).actions


QUIET_CASES = [
    (policy, instance)
    for policy in POLICIES
    for instance in ("revealer_instance", "exact_instance", "blind_instance")
    if (policy, instance) != ("ucb1", "blind_instance")  # ucb1 refuses an arm blind to itself (test_sb_bad_input)
]


@pytest.mark.parametrize(("policy", "instance"), QUIET_CASES)
def test_no_numpy_warnings_from_unobserved_or_exactly_known_arms(policy, instance, request):
    # Round 1 divides by zero precisions and exact observations make infinite ones: expected, and silenced
    # where they happen, so a user's run (or a test suite that turns warnings into errors) stays quiet.
    means, sigma = request.getfixturevalue(instance)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = simulate(policy, means, sigma, 30, 2, progress=False)
    assert (result.pulls[:, -1].sum(axis=1) == 30).all()
