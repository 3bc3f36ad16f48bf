"""The vectorised simulator against the plain Python loop, seeds, and regret bookkeeping."""

from __future__ import annotations

import numpy as np
import pytest
from hfplug_side_bandits import simulate
from hfplug_side_bandits.reference import simulate_reference

HORIZON = 400
SEEDS = [0, 7]


def _actions_from_pulls(pulls: np.ndarray) -> np.ndarray:
    """Per seed, the arm pulled at each round (checkpoints at every round)."""
    steps = np.diff(pulls, axis=1, prepend=0)
    return steps.argmax(axis=2)


# ucb1 is not run on the blind instance: it refuses arms that do not observe themselves (test_sb_bad_input).
CASES = [
    (policy, instance)
    for instance in ("revealer_instance", "blind_instance", "exact_instance")
    for policy in ("lp_tracking", "ucb_n", "thompson", "ucb1")
    if not (policy == "ucb1" and instance == "blind_instance")
]


@pytest.mark.parametrize(("policy", "instance"), CASES)
def test_simulator_matches_plain_loop_on_the_same_draws(policy, instance, request):
    means, sigma = request.getfixturevalue(instance)
    options = {"gamma": 0.1} if policy == "lp_tracking" else None
    # A blind best arm makes every LP a scalar search of ~20 LPs: a shorter run keeps the test fast.
    horizon = 150 if (policy, instance) == ("lp_tracking", "blind_instance") else HORIZON
    result = simulate(policy, means, sigma, horizon, SEEDS, options=options, checkpoints=range(1, horizon + 1))
    actions = _actions_from_pulls(result.pulls)
    for row, seed in enumerate(SEEDS):
        reference = simulate_reference(policy, means, sigma, horizon, seed, options)
        assert actions[row].tolist() == reference.actions
        np.testing.assert_allclose(result.regret[row], reference.regret, rtol=1e-12, atol=1e-9)


def test_runs_are_reproducible_and_seeds_independent(revealer_instance):
    means, sigma = revealer_instance
    batch = simulate("thompson", means, sigma, 300, [1, 3, 5], progress=False)
    again = simulate("thompson", means, sigma, 300, [1, 3, 5], progress=False)
    alone = simulate("thompson", means, sigma, 300, [3], progress=False)
    np.testing.assert_array_equal(batch.pulls, again.pulls)
    np.testing.assert_array_equal(batch.pulls[1], alone.pulls[0])  # a seed's run ignores its neighbours
    assert not np.array_equal(batch.pulls[0], batch.pulls[2])  # different seeds, different runs


@pytest.mark.parametrize("policy", ["lp_tracking", "thompson"])
def test_regret_is_gaps_times_pulls(policy, exact_instance):
    means, sigma = exact_instance
    result = simulate(policy, means, sigma, 500, 3, progress=False)
    gaps = np.max(means) - np.asarray(means)
    np.testing.assert_allclose(result.regret, result.pulls @ gaps, rtol=1e-12)
    assert (result.pulls.sum(axis=2) == result.rounds).all()
