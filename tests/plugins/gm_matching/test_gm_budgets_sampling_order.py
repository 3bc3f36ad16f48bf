"""Budgets against the documented rounding (written out here with integers), the gamma subsample and its seed,
select's independence of row order where nothing random depends on it, and the defaults the README attributes to
the paper or the official code."""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np
import pytest
from hfplug_gm_matching import select, weiszfeld
from hfplug_gm_matching.budgets import split_budget
from hfplug_gm_matching.config import GMMatchingConfig
from hfplug_gm_matching.median import ZERO_DISTANCE
from hfplug_gm_matching.selectors import SelectOptions
from hypothesis import example, given
from hypothesis import strategies as st

from hfplug.errors import DatasetError


def equal_shares(k: int, sizes: list[int]) -> list[int]:
    """k // C each; the k % C leftovers one each to the largest groups, the earlier group first among equals."""
    shares = [k // len(sizes)] * len(sizes)
    largest_first = sorted(range(len(sizes)), key=lambda g: (-sizes[g], g))
    for group in largest_first[: k % len(sizes)]:
        shares[group] += 1
    return shares


def largest_remainder_shares(k: int, sizes: list[int]) -> list[int]:
    """floor(k * size / total) each, the leftovers to the largest remainders (earlier group first among equals);
    exact integer arithmetic."""
    total = sum(sizes)
    shares = [k * size // total for size in sizes]
    remainders = [k * size % total for size in sizes]
    by_remainder = sorted(range(len(sizes)), key=lambda g: (-remainders[g], g))
    for group in by_remainder[: k - sum(shares)]:
        shares[group] += 1
    return shares


budget_cases = st.lists(st.integers(1, 60), min_size=1, max_size=8).flatmap(
    lambda sizes: st.tuples(st.just(sizes), st.integers(1, sum(sizes)))
)


@given(budget_cases)
@example(([5, 50, 20], 11))
@example(([3, 3, 3], 7))
@example(([7, 14, 7], 3))  # remainders tie exactly: 1/4, 2/4, 1/4 of a row -> the larger, then the earlier
def test_equal_budgets_follow_the_leftover_rule_or_name_the_class_too_small(case):
    sizes, k = case
    expected = equal_shares(k, sizes)
    if any(share > size for share, size in zip(expected, sizes, strict=True)):
        with pytest.raises(DatasetError, match="equal share"):
            split_budget(k, sizes, "equal")
    else:
        assert split_budget(k, sizes, "equal") == expected
        assert sum(expected) == k


@given(budget_cases)
@example(([500, 300, 200], 10))
@example(([7, 14, 7], 3))
@example(([1, 2, 3, 4, 5, 6, 7, 8], 35))
@example(([2, 2, 33, 59], 32))  # remainders 2/3, 2/3, 0, 2/3: as floats the last differed in its last bit
def test_proportional_budgets_are_largest_remainder_shares_that_sum_to_k(case):
    sizes, k = case
    budgets = split_budget(k, sizes, "proportional")
    assert budgets == largest_remainder_shares(k, sizes)
    assert sum(budgets) == k
    assert all(0 <= budget <= size for budget, size in zip(budgets, sizes, strict=True))


def test_budgets_default_to_equal_and_refuse_k_outside_one_to_n():
    assert split_budget(11, [5, 50, 20]) == [3, 4, 4]  # equal [code], the leftovers to the largest classes
    for k in (0, -1, 76):
        with pytest.raises(DatasetError, match=f"k={k} must be between 1 and the number of rows"):
            split_budget(k, [5, 50, 20], "proportional")


def test_fraction_rounds_half_up():
    assert GMMatchingConfig(fraction=0.25).rows_to_keep(10) == 3  # 2.5 -> 3 (Python's round() would give 2)
    assert GMMatchingConfig(fraction=0.05).rows_to_keep(10) == 1  # 0.5 -> 1
    assert GMMatchingConfig(fraction=0.24).rows_to_keep(10) == 2


def test_gamma_subsample_is_the_median_of_a_seeded_ceil_gamma_n_subset():
    """n = 10 distinct values, gamma = 0.25: ceil(2.5) = 3 rows, drawn without replacement by numpy's generator
    seeded with ``seed`` (pinned: a changed draw changes every published selection); the 1-D median of 3 values
    is the middle one."""
    values = np.array([[0.0], [10.0], [3.0], [7.0], [1.0], [8.0], [4.0], [9.0], [2.0], [6.0]])
    for seed in range(6):
        rows = np.random.default_rng(seed).choice(10, size=3, replace=False)
        result = weiszfeld(values, subsample=0.25, seed=seed)
        assert result.median[0] == pytest.approx(float(np.median(values[rows, 0])), abs=1e-4)
    medians = {round(float(weiszfeld(values, subsample=0.25, seed=seed).median[0]), 3) for seed in range(6)}
    assert len(medians) > 1  # the seed is used


def test_select_uses_the_seed_for_the_subsample():
    points = np.random.default_rng(0).standard_normal((400, 6)) + 1.0
    labels = np.repeat([0, 1], 200)
    runs = {
        seed: select(points, 40, metric="euclidean", labels=labels, gm_subsample=0.05, seed=seed).tolist()
        for seed in (1, 1, 2)
    }
    again = select(points, 40, metric="euclidean", labels=labels, gm_subsample=0.05, seed=1).tolist()
    assert runs[1] == again
    assert runs[1] != runs[2]


# Not moderate: with an even count of rows the two middle distances tie exactly around their median (the mean of
# the two), and ties go to the lower index.
ORDER_FREE = [("gm_matching", "euclidean"), ("gm_matching", "cosine"), ("herding", "euclidean"), ("easy", "cosine"),
              ("hard", "euclidean")]  # fmt: skip


@given(st.integers(0, 2**32 - 1), st.sampled_from(ORDER_FREE), st.booleans())
@example(0, ("gm_matching", "euclidean"), True)
def test_select_does_not_depend_on_row_order(permutation_seed, selector_metric, with_labels):
    """Without ties nothing but the rows' values decides a pick (random, batches > 1 and init: random do depend on
    row positions, by design)."""
    selector, metric = selector_metric
    rng = np.random.default_rng(42)
    points = rng.standard_normal((90, 5)) * np.array([3.0, 1.0, 0.5, 0.2, 0.1]) + 0.7
    labels = rng.integers(0, 3, 90) if with_labels else None
    order = np.random.default_rng(permutation_seed).permutation(90)
    picks = select(points, 25, selector=selector, metric=metric, labels=labels)
    shuffled_labels = None if labels is None else labels[order]
    shuffled = select(points[order], 25, selector=selector, metric=metric, labels=shuffled_labels)
    assert order[shuffled].tolist() == picks.tolist()


def default(config_class, name):
    return next(f.default for f in dataclasses.fields(config_class) if f.name == name)


def test_defaults_tagged_paper_or_code_in_the_readme():
    paper_and_code = {
        "selector": "gm_matching",  # [paper]
        "metric": "cosine",  # [code]
        "label_column": None,  # [code] per class when set; none = one group
        "class_budget": "equal",  # [code]
        "init": "center",  # [paper]
        "unit_center": True,  # [code]
        "gm_eps": 1e-5,  # [code]
        "gm_max_iter": 5000,  # [code]
        "gm_subsample": None,  # [paper; default unknown]: the full median
        "batches": 1,  # [paper: scalable variant off]
    }
    ours = {
        "embedding_column": "embedding",
        "encoder": "asset:all-minilm-l6-v2",
        "encoder_batch_size": 64,
        "max_length": 256,
        "engine": "auto",
        "device": "auto",
        "use_cache": True,
        "progress": True,
        "seed": None,
    }
    for name, value in {**paper_and_code, **ours}.items():
        assert default(GMMatchingConfig, name) == value, name
    # select() and SelectOptions agree with the config
    for name in ("selector", "metric", "class_budget", "init", "unit_center", "gm_eps", "gm_max_iter", "batches"):
        assert default(SelectOptions, name) == paper_and_code[name], name
    assert default(SelectOptions, "gm_subsample") is None
    parameters = inspect.signature(select).parameters
    assert (parameters["selector"].default, parameters["metric"].default) == ("gm_matching", "cosine")
    assert parameters["seed"].default == default(SelectOptions, "seed") == 0  # ours: a fixed, documented seed
    median = inspect.signature(weiszfeld).parameters
    assert (median["eps"].default, median["max_iter"].default) == (1e-5, 5000)  # [code]
    assert ZERO_DISTANCE == 1e-8  # [code]
