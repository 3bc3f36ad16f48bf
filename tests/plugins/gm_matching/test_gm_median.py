"""Weiszfeld's geometric median: the 1-D median, the breakdown property, and the scalable subsample."""

from __future__ import annotations

import numpy as np
import pytest
from hfplug_gm_matching import geometric_median, weiszfeld

from .conftest import corrupted_cloud


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_in_one_dimension_it_is_the_median(seed):
    values = np.random.default_rng(seed).exponential(size=(101, 1)) * 10  # skewed: mean != median
    result = weiszfeld(values)
    assert result.converged
    assert abs(result.median[0] - np.median(values)) < 1e-4
    assert abs(np.mean(values) - np.median(values)) > 1.0  # the mean would fail the line above


def test_breakdown_median_stays_bounded_while_the_mean_runs_away():
    deviations = {}
    for distance in (100.0, 1000.0):
        points, _ = corrupted_cloud(distance)
        deviations[distance] = (np.linalg.norm(geometric_median(points)), np.linalg.norm(points.mean(axis=0)))
    (gm_100, mean_100), (gm_1000, mean_1000) = deviations[100.0], deviations[1000.0]
    assert gm_100 < 10 and gm_1000 < 10  # spec: about 7 in both cases
    assert abs(gm_1000 - gm_100) < 1.0
    assert mean_1000 / mean_100 == pytest.approx(10, rel=0.02)  # the mean moves linearly (0.45 * distance)


def test_block_size_and_input_type_do_not_change_the_median(anisotropic):
    one_block = geometric_median(anisotropic, block_rows=10**6)
    small_blocks = geometric_median(anisotropic.tolist(), block_rows=7)
    np.testing.assert_allclose(one_block, small_blocks, atol=1e-4)


def test_gamma_subsample_estimates_the_full_median(anisotropic):
    full = geometric_median(anisotropic)
    sampled = geometric_median(anisotropic, subsample=0.3, seed=5)
    assert not np.allclose(sampled, full)  # it is a different (cheaper) estimate ...
    assert np.linalg.norm(sampled - full) < 0.1 * np.linalg.norm(anisotropic[0] - full)  # ... of the same point
    np.testing.assert_array_equal(sampled, geometric_median(anisotropic, subsample=0.3, seed=5))


def test_every_step_is_the_weiszfeld_update():
    points = np.random.default_rng(4).standard_normal((50, 3))
    after_one = weiszfeld(points, max_iter=1).median
    start = points.mean(axis=0)
    weights = 1 / np.linalg.norm(points - start, axis=1)
    np.testing.assert_allclose(after_one, weights @ points / weights.sum(), atol=1e-6)
