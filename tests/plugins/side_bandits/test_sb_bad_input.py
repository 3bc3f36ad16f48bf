"""Every bad input is refused before any work, with a ConfigError that names the problem."""

from __future__ import annotations

import math

import pytest
from hfplug_side_bandits import lower_bound, simulate

from hfplug.errors import ConfigError

INF = math.inf
MEANS = [1.0, 0.5]
SIGMA = [[1.0, INF], [INF, 1.0]]


@pytest.mark.parametrize(
    ("means", "sigma", "message"),
    [
        (MEANS, [[1.0, INF, INF], [INF, 1.0, INF]], "must be square"),
        (MEANS, [1.0, 1.0], "square K x K matrix"),
        (MEANS, [[1.0, -0.5], [INF, 1.0]], r"sigma\[0\]\[1\] = -0.5 is negative"),
        (MEANS, [[1.0, math.nan], [INF, 1.0]], "NaN"),
        ([1.0, 0.5, 0.2], SIGMA, "there are 3 means"),
        ([1.0], [[1.0]], "at least 2 arms"),
        ([1.0, math.inf], SIGMA, "finite"),
        (MEANS, [[1.0, INF], [INF, INF]], r"arm\(s\) 1 are observed by no action"),
        (MEANS, [["a", INF], [INF, 1.0]], "must be numbers"),
    ],
)
def test_bad_instances(means, sigma, message):
    with pytest.raises(ConfigError, match=message):
        lower_bound(means, sigma)
    with pytest.raises(ConfigError, match=message):
        simulate("ucb_n", means, sigma, 10, 1)


def test_tied_best_arms_have_no_bound():
    with pytest.raises(ConfigError, match="unique optimal arm"):
        lower_bound([1.0, 1.0, 0.2], [[1.0] * 3] * 3)


@pytest.mark.parametrize("horizon", [0, -5, 2.5, True, "100"])
def test_bad_horizon(horizon):
    with pytest.raises(ConfigError, match="horizon must be a positive integer"):
        simulate("ucb_n", MEANS, SIGMA, horizon, 1)


@pytest.mark.parametrize(
    ("seeds", "message"), [(0, "positive count"), ([], "empty"), ([1, 1], "distinct"), ([-1], "non-negative")]
)
def test_bad_seeds(seeds, message):
    with pytest.raises(ConfigError, match=message):
        simulate("ucb_n", MEANS, SIGMA, 10, seeds)


def test_unknown_policy_suggests_a_name():
    with pytest.raises(ConfigError, match=r"unknown policy 'ucbn'\. Did you mean 'ucb_n'"):
        simulate("ucbn", MEANS, SIGMA, 10, 1)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"gama": 0.1}, r"unknown option\(s\) \['gama'\]"),
        ({"gamma": -1.0}, "gamma must be"),
        ({"exploitation_test": "kl"}, "exploitation_test must be one of"),
        ({"gap_floor": 0.0}, "gap_floor must be"),
    ],
)
def test_bad_policy_options(options, message):
    with pytest.raises(ConfigError, match=message):
        simulate("lp_tracking", MEANS, SIGMA, 10, 1, options=options)


def test_ucb1_refuses_an_arm_blind_to_its_own_reward():
    with pytest.raises(ConfigError, match=r"arm\(s\) \[0\] do not observe their own reward"):
        simulate("ucb1", MEANS, [[INF, 1.0], [1.0, 1.0]], 10, 1)
