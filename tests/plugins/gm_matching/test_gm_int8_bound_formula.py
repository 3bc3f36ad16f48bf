"""The int8 engine's bounds are exactly the bound its module documents, computed here from scratch with NumPy:
neither looser (a wider slack keeps the picks but re-scores rows for nothing) nor tighter (then no longer
rigorous). The enclosure itself is checked in test_gm_int8_properties.py."""

from __future__ import annotations

import numpy as np
import pytest
from hfplug_gm_matching.bounded import Int8Herding
from hfplug_gm_matching.streamed import StreamedRows


def gamma(terms: int, unit_roundoff: float) -> float:
    """gamma_(d+1) = (d + 1) u / (1 - (d + 1) u), the bound on a sum of d products in any order, one rounding spare."""
    return (terms + 1) * unit_roundoff / (1 - (terms + 1) * unit_roundoff)


def int8_split(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: the scale (largest |value| / 127, 1 for an all-zero row), the int8 codes and the largest error."""
    largest = np.abs(values).max(axis=-1, keepdims=True)
    scale = np.where(largest > 0, largest / 127.0, 1.0)
    codes = np.clip(np.rint(values / scale), -127, 127)
    return scale[..., 0], codes, np.abs(values - scale * codes).max(axis=-1)


def documented_bounds(points: np.ndarray, direction: np.ndarray | None, theta: np.ndarray):
    """(estimate, slack) of every row's float32 score, from the bound in :mod:`hfplug_gm_matching.bounded`:
    score = beta * along_j + s_j s_theta <q_j, q_theta>, slack = e_j ||p||_1 + s_j ||q_j||_1 e_theta
    + (gamma32 + gamma64 + 1e-9) max|phi_j| ||theta||_1, with p = theta off the unit direction."""
    rows = points.astype(np.float64)
    theta64 = theta.astype(np.float64)
    direction = np.zeros(rows.shape[1]) if direction is None else np.asarray(direction, dtype=np.float64)
    unit = direction / np.linalg.norm(direction) if np.any(direction) else direction
    along = rows @ unit
    row_scale, row_codes, row_error = int8_split(rows - along[:, None] * unit)
    beta = theta64 @ unit
    off = theta64 - beta * unit
    off_scale, off_codes, off_error = int8_split(off)
    estimate = beta * along + row_scale * off_scale * (row_codes @ off_codes)
    margin = gamma(rows.shape[1], 2.0**-24) + gamma(rows.shape[1], 2.0**-53) + 1e-9
    slack = (
        row_error * np.abs(off).sum()
        + row_scale * np.abs(row_codes).sum(axis=1) * off_error
        + margin * np.abs(rows).max(axis=1) * np.abs(theta64).sum()
    )
    return estimate, slack


def engine_bounds(points, direction, theta, taken=None):
    engine = Int8Herding(points, direction)
    taken = np.zeros(len(points), dtype=bool) if taken is None else taken
    best = engine.bound(theta, taken)
    upper, lower = engine.upper.copy(), engine.lower.copy()
    engine.close()
    return best, upper, lower


def assert_documented(points, direction, theta, rtol=1e-9):
    best, upper, lower = engine_bounds(points, direction, theta)
    estimate, slack = documented_bounds(points, direction, theta)
    np.testing.assert_allclose((upper - lower) / 2, slack, rtol=rtol, atol=0)
    np.testing.assert_allclose((upper + lower) / 2, estimate, rtol=0, atol=1e-9 * np.abs(estimate).max())
    assert best == lower.max()


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("d", [1, 5, 48])
def test_bounds_are_the_documented_bound_on_embedding_like_rows(seed, d):
    rng = np.random.default_rng(seed)
    points = (rng.standard_normal((300, d)) * np.linspace(2.0, 0.1, d) + 1.5).astype(np.float32)
    direction = points.astype(np.float64).mean(axis=0)
    theta = (direction + rng.standard_normal(d) * 3).astype(np.float32)
    assert_documented(points, direction, theta)


def test_with_no_quantisation_error_the_slack_is_the_rounding_margin_alone():
    """Rows and theta on their int8 grids off the direction: the first two terms vanish, so the margin (which is
    tiny next to them elsewhere) is the whole slack and every part of it shows."""
    rng = np.random.default_rng(4)
    d = 40
    points = (rng.integers(-127, 128, (200, d)) / 16.0).astype(np.float32)
    points[:, 1] = 127 / 16.0
    points[:, 0] = rng.standard_normal(200) * 1e5  # along the direction: large entries, so a large margin term ...
    theta = (rng.integers(-127, 128, d) / 8.0).astype(np.float32)
    theta[1] = 127 / 8.0
    theta[0] = 0.0  # ... that the estimate (computed with it in upper and lower) does not swamp
    _, slack = documented_bounds(points, np.eye(d)[0], theta)
    margin = gamma(d, 2.0**-24) + gamma(d, 2.0**-53) + 1e-9
    largest, theta_l1 = np.abs(points).max(axis=1).astype(np.float64), np.abs(theta.astype(np.float64)).sum()
    np.testing.assert_allclose(slack, margin * largest * theta_l1, rtol=1e-12)
    assert_documented(points, np.eye(d)[0], theta, rtol=1e-13)  # each part of the margin is > 1e-11 of it


@pytest.mark.parametrize("direction", [None, "zero"])
def test_without_a_direction_all_of_theta_is_quantised(direction):
    rng = np.random.default_rng(7)
    points = rng.standard_normal((100, 12)).astype(np.float32)
    theta = rng.standard_normal(12).astype(np.float32) * 4
    assert_documented(points, None if direction is None else np.zeros(12), theta)


def test_a_direction_of_any_length_is_used_as_its_unit_vector():
    rng = np.random.default_rng(8)
    points = (rng.standard_normal((150, 9)) + 2.0).astype(np.float32)
    theta = (rng.standard_normal(9) + 2.0).astype(np.float32)
    for length in (1e-3, 0.5, 1.0, 30.0):
        direction = np.ones(9) / 3.0 * length
        assert_documented(points, direction, theta)
        same_as_unit = engine_bounds(points, np.ones(9), theta)[1]
        np.testing.assert_allclose(engine_bounds(points, direction, theta)[1], same_as_unit)


def test_taken_rows_get_minus_infinity_and_the_best_lower_bound_skips_them():
    rng = np.random.default_rng(5)
    points = (rng.standard_normal((60, 6)) + 1.0).astype(np.float32)
    theta = points.mean(axis=0)
    _, free_upper, free_lower = engine_bounds(points, theta, theta)
    taken = np.zeros(60, dtype=bool)
    taken[np.argsort(free_lower)[-5:]] = True  # the five best rows
    best, upper, lower = engine_bounds(points, theta, theta, taken)
    assert np.all(upper[taken] == -np.inf) and np.all(lower[taken] == -np.inf)
    np.testing.assert_array_equal(upper[~taken], free_upper[~taken])
    assert best == free_lower[~taken].max()
    assert engine_bounds(points, theta, theta, np.ones(60, dtype=bool))[0] == -np.inf


def test_streamed_rows_give_the_same_bounds_block_by_block():
    """StreamedRows are quantised one block of their own size at a time; each row is quantised on its own."""
    rng = np.random.default_rng(6)
    source = rng.integers(-100, 100, (70, 10)).astype(np.int8)
    streamed = StreamedRows.checked(source, unit=True, block_rows=16)
    unit_rows = source.astype(np.float32) / np.linalg.norm(source.astype(np.float32), axis=1, keepdims=True)
    theta = unit_rows.mean(axis=0).astype(np.float32)
    engine = Int8Herding(streamed, theta)
    assert engine.windows_match is True  # streamed products are made window by window: nothing to check
    engine.close()
    assert_documented(unit_rows, theta, theta)
    assert np.array_equal(engine_bounds(streamed, theta, theta)[1], engine_bounds(unit_rows, theta, theta)[1])


def test_nbytes_is_what_the_engine_holds_besides_the_matrix():
    points = np.random.default_rng(1).standard_normal((500, 32)).astype(np.float32)
    engine = Int8Herding(points, points.mean(axis=0))
    held = [value for value in vars(engine).values() if isinstance(value, np.ndarray) and value is not points]
    assert engine.nbytes == sum(array.nbytes for array in held)
    assert engine.nbytes == 500 * 32 + 500 * 60 + 32 * 8  # int8 codes, 60 bytes a row, the float64 direction
    engine.close()
