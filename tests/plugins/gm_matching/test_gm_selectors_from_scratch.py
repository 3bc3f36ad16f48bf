"""select's pieces against from-scratch NumPy: the interleaving keys, the blockwise mean / norms / distances, the
seeded draws (the random selector, init: random, the batches' partition) and the cosine center's corner cases."""

from __future__ import annotations

import numpy as np
import pytest
from hfplug_gm_matching import select
from hfplug_gm_matching.budgets import class_groups
from hfplug_gm_matching.selectors import column_mean, distances_to, interleave, row_norms, rows_of
from hfplug_gm_matching.streamed import StreamedRows

from hfplug.errors import ConfigError, DatasetError

from .conftest import plain_herding


def herding_from(points: np.ndarray, target: np.ndarray, k: int, theta0: np.ndarray) -> list[int]:
    """The plain float32 loop started at ``theta0`` instead of the target."""
    points, target = points.astype(np.float32), target.astype(np.float32)
    theta = theta0.astype(np.float32).copy()
    taken = np.zeros(len(points), dtype=bool)
    picks = []
    for _ in range(k):
        scores = points @ theta
        scores[taken] = -np.inf
        picks.append(int(np.argmax(scores)))
        taken[picks[-1]] = True
        theta += target - points[picks[-1]]
    return picks


def group_seed(seed: int) -> int:
    """The per-class seed select draws first from its generator (one class here)."""
    return int(np.random.default_rng(seed).integers(2**31))


@pytest.mark.parametrize("budgets", [[3, 1], [1, 3], [5, 2, 2], [4, 4], [7, 1, 3, 2]])
def test_interleave_orders_by_p_plus_half_over_budget_then_group(budgets):
    ranked = [np.arange(100 * g, 100 * g + b) for g, b in enumerate(budgets)]
    keyed = [((p + 0.5) / b, g, int(ranked[g][p])) for g, b in enumerate(budgets) for p in range(b)]
    assert interleave(ranked).tolist() == [row for _, _, row in sorted(keyed)]


def test_blockwise_mean_norms_and_distances_equal_the_whole_matrix_ones():
    points = np.random.default_rng(0).standard_normal((23, 5)).astype(np.float32) * 3
    center = np.random.default_rng(1).standard_normal(5)
    for block in (1, 4, 7, 23, 100):
        np.testing.assert_allclose(column_mean(points, block), points.astype(np.float64).mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(row_norms(points, block), np.linalg.norm(points, axis=1), rtol=1e-6)
        assert row_norms(points, block).shape == (23,)
        expected = np.linalg.norm(points.astype(np.float64) - center, axis=1)
        np.testing.assert_allclose(distances_to(points, center, block), expected, rtol=1e-12)


@pytest.mark.parametrize("seed", [0, 5])
def test_random_selector_is_a_permutation_drawn_with_the_classes_seed(seed):
    points = np.random.default_rng(2).standard_normal((50, 3))
    expected = np.random.default_rng(group_seed(seed)).permutation(50)[:12]
    assert select(points, 12, selector="random", seed=seed).tolist() == expected.tolist()


def test_select_draws_with_seed_0_unless_told():
    points = np.random.default_rng(2).standard_normal((50, 3))
    expected = np.random.default_rng(group_seed(0)).permutation(50)[:12]
    assert select(points, 12, selector="random").tolist() == expected.tolist()


def test_cosine_rows_are_float32_unit_rows():
    """normalized_rows returns a new float32 array (the engines' dtype; float64 would double the matrix held)."""
    from hfplug_gm_matching.selectors import normalized_rows

    points = np.random.default_rng(7).standard_normal((9, 4)).astype(np.float32) * 3
    unit = normalized_rows(points)
    assert unit.dtype == np.float32 and not np.shares_memory(unit, points)
    np.testing.assert_allclose(np.linalg.norm(unit.astype(np.float64), axis=1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("seed", [0, 3])
def test_init_random_starts_theta_at_a_seeded_row(anisotropic, seed):
    """[code]: theta_0 is row ``rng.integers(n)`` of a generator seeded with the class seed + 1."""
    target = anisotropic.astype(np.float64).mean(axis=0)
    start = int(np.random.default_rng(group_seed(seed) + 1).integers(len(anisotropic)))
    picks = select(anisotropic, 40, selector="herding", metric="euclidean", init="random", seed=seed)
    assert picks.tolist() == herding_from(anisotropic, target, 40, anisotropic[start])
    assert picks.tolist() != plain_herding(anisotropic, target, 40)


@pytest.mark.parametrize(("batches", "k", "init"), [(3, 90, "center"), (4, 50, "random"), (2, 1, "center")])
def test_batches_are_seeded_parts_each_herded_to_the_center_and_interleaved(anisotropic, batches, k, init):
    """The paper's scalable variant from scratch: a seeded random partition into ``batches`` parts (sorted), budgets
    by largest remainder, each part herded towards the whole class's center, the rankings interleaved."""
    points = anisotropic[:600]
    target = points.astype(np.float64).mean(axis=0)
    rng = np.random.default_rng(group_seed(7) + 1)
    parts = [np.sort(part) for part in np.array_split(rng.permutation(600), batches)]
    budgets = [k * len(part) // 600 for part in parts]
    for g in sorted(range(batches), key=lambda g: (-(k * len(parts[g]) % 600), g))[: k - sum(budgets)]:
        budgets[g] += 1
    starts = [
        int(rng.integers(len(part))) if init == "random" and budget else None
        for part, budget in zip(parts, budgets, strict=True)
    ]
    ranked = []
    for part, budget, start in zip(parts, budgets, starts, strict=True):
        if budget:
            theta0 = target if start is None else points[part][start]
            ranked.append(part[herding_from(points[part], target, budget, theta0)])
    expected = interleave(ranked)
    picks = select(points, k, selector="herding", metric="euclidean", batches=batches, init=init, seed=7)
    assert picks.tolist() == expected.tolist()


def test_a_zero_center_under_cosine_stays_zero_and_herding_still_runs():
    """Rows in opposite pairs: the mean of the unit rows is 0, which has no unit direction; it is used as it is."""
    half = np.random.default_rng(3).standard_normal((10, 4))
    points = np.concatenate([half, -half])
    unit = points / np.linalg.norm(points, axis=1, keepdims=True)
    picks = select(points, 8, selector="herding", metric="cosine")
    assert picks.tolist() == plain_herding(unit, np.zeros(4), 8)


def test_block_rows_must_be_positive_and_one_row_blocks_change_nothing(anisotropic):
    with pytest.raises(ConfigError, match="block_rows must be >= 1, got 0"):
        select(anisotropic, 5, block_rows=0)
    points = anisotropic[:200]
    assert select(points, 30, block_rows=1).tolist() == select(points, 30).tolist()


def test_a_zero_row_under_cosine_gets_the_whole_message():
    points = np.ones((5, 3))
    points[2] = 0
    with pytest.raises(DatasetError) as error:
        select(points, 2)
    assert str(error.value) == (
        "row 2 is an all-zero embedding (1 in all); the cosine metric has no direction for it. "
        "Drop those rows or use metric: euclidean."
    )


def test_class_groups_are_sorted_plain_labels_with_ascending_rows():
    labels = np.array(["dog", "cat", "dog", "eel", "cat"], dtype=object)  # object labels: np.unique gives str
    names, groups = class_groups(labels, 5)
    assert names == ["cat", "dog", "eel"] and all(type(name) is str for name in names)
    assert [group.tolist() for group in groups] == [[1, 4], [0, 2], [3]]
    names, _ = class_groups(np.array([2, 0, 2]), 3)
    assert names == [0, 2] and all(type(name) is int for name in names)
    many = np.random.default_rng(6).integers(0, 3, 1000)  # long enough for an unstable sort to reorder a class
    _, groups = class_groups(many, 1000)
    assert [group.tolist() for group in groups] == [np.flatnonzero(many == g).tolist() for g in range(3)]


def test_object_labels_holding_floats_are_labels_not_missing_ones():
    """An object column of float labels (as a pandas column with None dropped gives): only None and NaN count as
    missing, so these group like any labels."""
    names, groups = class_groups(np.array([1.5, 0.5, 1.5], dtype=object), 3)
    assert names == [0.5, 1.5] and [group.tolist() for group in groups] == [[1], [0, 2]]
    with pytest.raises(DatasetError, match="row 1 has no label"):
        class_groups(np.array([1.5, float("nan"), None], dtype=object), 3)


def test_labels_of_the_wrong_length_or_float_nan_are_refused():
    points = np.random.default_rng(5).standard_normal((6, 2))
    with pytest.raises(DatasetError, match="one value per row: got 5 labels for 6 rows"):
        select(points, 2, labels=[0, 1, 0, 1, 0])
    with pytest.raises(DatasetError, match="row 3 has no label"):
        select(points, 2, labels=[0.0, 1.0, 0.0, np.nan, 1.0, 1.0])


def test_rows_of_streamed_rows_is_a_view_not_a_float32_copy():
    source = np.arange(40, dtype=np.int8).reshape(10, 4)
    part = rows_of(StreamedRows.checked(source, unit=False), np.array([1, 4, 7]))
    assert isinstance(part, StreamedRows)
    np.testing.assert_array_equal(part[0:3], source[[1, 4, 7]].astype(np.float32))


def test_select_hands_its_settings_to_weiszfeld_herd_and_the_batches(monkeypatch):
    """The options a user sets reach the functions that use them (the picks alone cannot show a lost ``device``,
    ``progress`` or ``distributed`` on one CPU process, nor a lost block size)."""
    from hfplug_gm_matching import selectors

    calls: dict[str, list] = {"weiszfeld": [], "herd": [], "herd_parts": [], "column_mean": []}

    def spy(name, real):
        def recorded(*args, **kwargs):
            calls[name].append((args, kwargs))
            return real(*args, **kwargs)

        return recorded

    for name in calls:
        monkeypatch.setattr(selectors, name, spy(name, getattr(selectors, name)))
    points = np.random.default_rng(11).standard_normal((40, 3)) + 2.0
    options = {"gm_eps": 1e-3, "gm_max_iter": 7, "device": "cpu", "distributed": True, "progress": True}
    select(points, 6, selector="gm_matching", batches=2, **options)
    ((_, median_options),) = calls["weiszfeld"]
    expected = {"eps": 1e-3, "max_iter": 7, "device": "cpu", "distributed": True}
    assert {name: median_options.get(name) for name in expected} == expected
    herd_options = [
        {name: kwargs.get(name) for name in ("device", "progress", "description")} for _, kwargs in calls["herd"]
    ]
    assert herd_options == [{"device": "cpu", "progress": True, "description": "gm_matching"}] * 2
    assert [kwargs for _, kwargs in calls["herd_parts"]] == [{"enabled": True}]
    select(points, 6, selector="herding", block_rows=7)
    assert [args[1:] for args, _ in calls["column_mean"]] == [(7,)]


@pytest.mark.parametrize("selector", ["gm_matching", "easy"])
def test_the_center_is_float32_as_the_engines_compare_it(selector):
    from hfplug_gm_matching.selectors import SelectOptions, center_of

    points = np.random.default_rng(12).standard_normal((30, 4))
    assert center_of(points, SelectOptions(selector=selector, metric="euclidean"), 0).dtype == np.float32


@pytest.mark.parametrize("selector", ["easy", "hard", "moderate"])
def test_distance_selectors_break_ties_by_row_index(selector):
    """Exact duplicates tie on distance: the earlier row first (a stable sort). 300 rows drawn from 6 distinct
    ones, enough that numpy's default quicksort reorders ties."""
    rng = np.random.default_rng(1)
    points = rng.standard_normal((6, 3))[rng.integers(6, size=300)]
    center = points.mean(axis=0).astype(np.float32)
    distances = np.linalg.norm(points.astype(np.float32).astype(np.float64) - center, axis=1)
    score = {"easy": distances, "hard": -distances, "moderate": np.abs(distances - np.median(distances))}[selector]
    expected = sorted(range(300), key=lambda row: (score[row], row))[:50]
    assert select(points, 50, selector=selector, metric="euclidean").tolist() == expected
