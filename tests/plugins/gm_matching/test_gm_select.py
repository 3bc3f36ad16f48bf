"""select(): per-class budgets, determinism, the baselines' definitions and the batched variant."""

from __future__ import annotations

import numpy as np
import pytest
from hfplug_gm_matching import select
from hfplug_gm_matching.budgets import split_budget
from hfplug_gm_matching.selectors import SELECTORS


@pytest.fixture
def labelled():
    rng = np.random.default_rng(11)
    labels = np.repeat(["cat", "dog", "eel"], [500, 300, 200])
    points = rng.standard_normal((1000, 16)) + (labels == "dog")[:, None] * 4.0 + 1.0
    return points, labels


@pytest.mark.parametrize("selector", SELECTORS)
@pytest.mark.parametrize(("mode", "k"), [("equal", 301), ("equal", 600), ("proportional", 301), ("proportional", 999)])
def test_per_class_budgets_sum_to_exactly_k(labelled, selector, mode, k):
    points, labels = labelled
    picks = select(points, k, selector=selector, labels=labels, class_budget=mode)
    assert len(picks) == len(set(picks.tolist())) == k
    counts = {name: int((labels[picks] == name).sum()) for name in ("cat", "dog", "eel")}
    assert counts == dict(zip(("cat", "dog", "eel"), split_budget(k, [500, 300, 200], mode), strict=True))
    if mode == "equal":
        assert max(counts.values()) - min(counts.values()) <= 1


def test_equal_budget_leftovers_go_to_the_largest_classes():
    assert split_budget(11, [5, 50, 20], "equal") == [3, 4, 4]
    assert split_budget(10, [500, 300, 200], "proportional") == [5, 3, 2]


def test_every_prefix_of_the_ranking_is_class_balanced(labelled):
    points, labels = labelled
    picks = select(points, 300, selector="gm_matching", labels=labels)
    for prefix in (3, 30, 150):
        counts = [int((labels[picks[:prefix]] == name).sum()) for name in ("cat", "dog", "eel")]
        assert max(counts) - min(counts) <= 1


@pytest.mark.parametrize("selector", SELECTORS)
def test_the_same_seed_gives_the_same_ranking(labelled, selector):
    points, labels = labelled
    first = select(points, 100, selector=selector, labels=labels, seed=3, batches=2, init="random")
    again = select(points, 100, selector=selector, labels=labels, seed=3, batches=2, init="random")
    other = select(points, 100, selector=selector, labels=labels, seed=4, batches=2, init="random")
    assert first.tolist() == again.tolist()
    if selector in ("random", "gm_matching", "herding"):  # the seed matters to them here
        assert first.tolist() != other.tolist()


def test_easy_hard_and_moderate_follow_the_distance_to_the_mean():
    points = np.random.default_rng(2).standard_normal((400, 5))
    distances = np.linalg.norm(points - points.mean(axis=0), axis=1)
    order = np.argsort(distances)
    easy = select(points, 40, selector="easy", metric="euclidean")
    hard = select(points, 40, selector="hard", metric="euclidean")
    moderate = select(points, 40, selector="moderate", metric="euclidean")
    assert easy.tolist() == order[:40].tolist()
    assert hard.tolist() == order[::-1][:40].tolist()
    assert set(moderate.tolist()) == set(np.argsort(np.abs(distances - np.median(distances)))[:40].tolist())
    assert set(moderate.tolist()) <= set(order[160:240].tolist())  # the middle of the distance ranking


def test_batched_variant_herds_each_partition_with_its_share_of_the_budget(anisotropic):
    whole = select(anisotropic, 300, selector="gm_matching", metric="euclidean", batches=1)
    batched = select(anisotropic, 300, selector="gm_matching", metric="euclidean", batches=3, seed=9)
    assert len(set(batched.tolist())) == 300
    parts = np.array_split(np.random.default_rng(np.random.default_rng(9).integers(2**31) + 1).permutation(3000), 3)
    for part in parts:
        assert np.isin(batched, part).sum() == 100
    assert batched.tolist() != whole.tolist()
    assert select(anisotropic, 300, metric="euclidean", batches=1, seed=9).tolist() == whole.tolist()
