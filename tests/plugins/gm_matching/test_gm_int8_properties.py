"""The int8 engine's promise, for every input: its picks are the plain float32 loop's, and its bounds enclose the
float32 scores that loop compares. Data built to be hard for it: exact quantisation levels (no quantisation error
left to hide a missing rounding term), near-duplicate rows a few ulps apart, exact duplicates (ties), and rows of
tiny and huge norms side by side."""

from __future__ import annotations

import numba
import numpy as np
import pytest
from hfplug_gm_matching import herd
from hfplug_gm_matching.bounded import UNIT_ROUNDOFF_32, Int8Herding, dense_pick, summation_bound
from hypothesis import example, given
from hypothesis import strategies as st

KINDS = ("levels", "near_duplicates", "duplicates", "norms", "gaussian")


def adversarial_rows(kind: str, n: int, d: int, seed: int) -> np.ndarray:
    """``n`` float32 rows of ``d`` columns, of one hard ``kind``."""
    rng = np.random.default_rng(seed)
    if kind == "levels":  # every row exactly on its int8 grid: codes * 2**e, each row reaching +-127
        codes = rng.integers(-127, 128, (n, d)).astype(np.float64)
        codes[:, rng.integers(d)] = 127
        return (codes * 2.0 ** rng.integers(-6, 7, (n, 1))).astype(np.float32)
    if kind == "near_duplicates":  # one row, then copies moved by a few ulps in a few coordinates
        base = rng.standard_normal(d).astype(np.float32) + 2.0
        rows = np.repeat(base[None], n, axis=0)
        for row in rows[1:]:
            for column in rng.integers(d, size=1 + d // 4):
                for _ in range(rng.integers(1, 4)):
                    row[column] = np.nextafter(row[column], np.float32(rng.choice([-np.inf, np.inf])))
        return rows
    if kind == "duplicates":  # a few distinct rows, each repeated: exact ties the lowest index must win
        distinct = rng.standard_normal((max(1, n // 4), d)).astype(np.float32) + 1.0
        return distinct[rng.integers(len(distinct), size=n)]
    if kind == "norms":  # norms from 1e-6 to 1e6 side by side (float32 products stay normal)
        rows = rng.standard_normal((n, d)) * 10.0 ** rng.uniform(-6, 6, (n, 1))
        return rows.astype(np.float32)
    return (rng.standard_normal((n, d)) + 0.5).astype(np.float32)


def target_for(points: np.ndarray, how: str, seed: int) -> np.ndarray:
    if how == "mean":
        return points.astype(np.float64).mean(axis=0).astype(np.float32)
    if how == "row":
        return points[np.random.default_rng(seed).integers(len(points))].copy()
    return np.random.default_rng(seed + 1).standard_normal(points.shape[1]).astype(np.float32)


hard_data = st.tuples(
    st.sampled_from(KINDS),
    st.integers(2, 40),  # rows
    st.integers(1, 20),  # columns
    st.integers(0, 2**16),  # seed
    st.sampled_from(("mean", "row", "random")),
)


@given(hard_data)
@example(("levels", 40, 20, 0, "mean"))
@example(("near_duplicates", 40, 8, 3, "row"))
@example(("duplicates", 30, 5, 1, "mean"))
@example(("norms", 40, 16, 2, "random"))
def test_int8_picks_equal_the_dense_loop_on_hard_data(data):
    kind, n, d, seed, how = data
    points = adversarial_rows(kind, n, d, seed)
    target = target_for(points, how, seed)
    k = max(1, n - 1)
    assert herd(points, target, k, engine="int8").tolist() == herd(points, target, k, engine="dense").tolist()


@given(hard_data, st.integers(0, 2**16))
@example(("levels", 40, 20, 0, "mean"), 0)
@example(("near_duplicates", 40, 8, 3, "row"), 1)
def test_int8_bounds_enclose_the_float32_scores(data, theta_seed):
    kind, n, d, seed, how = data
    points = adversarial_rows(kind, n, d, seed)
    direction = target_for(points, how, seed)
    theta = (direction + np.random.default_rng(theta_seed).standard_normal(d) * np.abs(direction).max()).astype(
        np.float32
    )
    engine = Int8Herding(points, direction)
    taken = np.zeros(n, dtype=bool)
    engine.bound(theta, taken)
    scores = (points @ theta).astype(np.float64)  # what the plain loop compares
    assert np.all(engine.lower <= scores)
    assert np.all(scores <= engine.upper)
    engine.close()


@given(st.integers(2, 64), st.integers(0, 2**16))
@example(32, 0)
def test_with_no_quantisation_error_the_rounding_margin_alone_holds_the_bound(d, seed):
    """Rows and theta exactly on their int8 grids off a direction with arbitrary values along it: the only gap
    between the engine's score and the float32 loop's is float32 rounding, which the margin has to cover."""
    rng = np.random.default_rng(seed)
    points = (rng.integers(-127, 128, (300, d)) / 16.0).astype(np.float32)
    points[:, 1 % d] = 127 / 16.0
    points[:, 0] = rng.standard_normal(300) * 1e4  # along the direction: scored exactly, rounded by float32
    theta = (rng.integers(-127, 128, d) / 8.0).astype(np.float32)
    theta[1 % d] = 127 / 8.0
    theta[0] = np.float32(rng.standard_normal() * 1e4)
    engine = Int8Herding(points, np.eye(d)[0])
    engine.bound(theta, np.zeros(300, dtype=bool))
    scores = (points @ theta).astype(np.float64)
    assert np.all(engine.lower <= scores) and np.all(scores <= engine.upper)
    assert float(np.max(engine.upper - engine.lower)) < 1e-2 * float(np.abs(scores).max())  # and it is tight


def test_the_rounding_margin_is_at_least_the_float32_dot_product_bound():
    """Higham's gamma_d = d u / (1 - d u) bounds a float32 dot product of d terms in any summation order; the
    engine uses gamma_(d+1) (one more rounding for safety), plus its own float64 error and 1e-9."""
    for d in (1, 24, 384, 4096):
        higham = d * UNIT_ROUNDOFF_32 / (1 - d * UNIT_ROUNDOFF_32)
        assert summation_bound(d, UNIT_ROUNDOFF_32) == pytest.approx(
            (d + 1) * UNIT_ROUNDOFF_32 / (1 - (d + 1) * UNIT_ROUNDOFF_32), rel=1e-12
        )
        assert summation_bound(d, UNIT_ROUNDOFF_32) > higham
        engine = Int8Herding(np.ones((2, d), dtype=np.float32))
        assert engine.exact_margin >= summation_bound(d, UNIT_ROUNDOFF_32) + summation_bound(d, 2.0**-53)
        engine.close()


@pytest.mark.parametrize("d", [3, 16, 200])
def test_the_bound_holds_when_the_rows_quantisation_error_is_at_its_worst(d):
    """Every coordinate of every row 0.49 of a step off its int8 grid, on the side theta weighs positively, and
    theta exactly on its grid: the float32 score is then as far from the int8 estimate as the row's term allows."""
    rng = np.random.default_rng(d)
    step = 1 / 64
    codes = rng.integers(-126, 127, (200, d)).astype(np.float64)
    codes[:, 1] = 127  # each row's largest remainder: its scale is exactly `step`, and this coordinate exact
    points = ((codes + 0.49) * step).astype(np.float32)
    points[:, 1] = 127 * step
    points[:, 0] = rng.standard_normal(200)  # along the direction
    theta = np.full(d, 100 / 8, dtype=np.float32)  # positive: every row error adds up
    theta[1] = 127 / 8
    engine = Int8Herding(points, np.eye(d)[0])
    engine.bound(theta, np.zeros(200, dtype=bool))
    scores = (points @ theta).astype(np.float64)
    assert np.all(engine.lower <= scores) and np.all(scores <= engine.upper)
    engine.close()


@pytest.mark.parametrize("d", [3, 16, 200])
def test_the_bound_holds_when_thetas_quantisation_error_is_at_its_worst(d):
    """Rows exactly on their grids, theta 0.49 of its step off its grid in every coordinate, with the sign of the
    rows' codes: the score's error is then the whole of theta's term."""
    rng = np.random.default_rng(d + 1)
    points = np.full((200, d), 100 / 16, dtype=np.float32)  # positive codes, on the grid (scale 1/16)
    points[:, 1] = 127 / 16
    points[:, 0] = rng.standard_normal(200)
    theta_step = 1 / 8
    theta = ((rng.integers(-126, 127, d) + 0.49) * theta_step).astype(np.float32)
    theta[1] = 127 * theta_step
    theta[0] = 3.0
    engine = Int8Herding(points, np.eye(d)[0])
    engine.bound(theta, np.zeros(200, dtype=bool))
    scores = (points @ theta).astype(np.float64)
    assert np.all(engine.lower <= scores) and np.all(scores <= engine.upper)
    engine.close()


@pytest.mark.parametrize("n", [300, 5000])  # one window of rows, and two
def test_a_near_tie_checks_once_whether_window_products_equal_the_full_product(n):
    """The first near tie compares the aligned row windows' float32 products with the full product and keeps
    the verdict: the windows (cheaper) are used only when they equal it, on this machine's BLAS."""
    rng = np.random.default_rng(n)
    points = (rng.standard_normal((n, 16)) + 0.5).astype(np.float32)
    target = points.astype(np.float64).mean(axis=0).astype(np.float32)
    best = int(np.argmax(points @ target))
    points[n - 1] = points[best]  # an exact duplicate of the first pick, in the last window: a tie
    engine = Int8Herding(points, target)
    assert engine.windows_match is None
    pick = engine.pick(target, np.zeros(n, dtype=bool))
    assert pick == min(best, n - 1)
    full = points @ target
    tied_windows = {best // 4096, (n - 1) // 4096}
    expected = all(
        np.array_equal(points[w * 4096 : (w + 1) * 4096] @ target, full[w * 4096 : (w + 1) * 4096])
        for w in tied_windows
    )
    assert engine.fallbacks == 1
    assert engine.windows_match is expected
    engine.close()


class WindowsDiffer(np.ndarray):
    """A matrix whose products over a slice of rows differ from the full product's rows (as a BLAS that blocks
    differently by shape might): in a window product, rows further into the window score a little lower."""

    def __matmul__(self, other):
        result = np.asarray(self) @ other
        if self.shape[0] != FULL_ROWS:
            result = result - np.arange(len(result), dtype=result.dtype) * np.float32(1e-3)
        return result


FULL_ROWS = 5000  # more than one window (4096 rows)


def test_when_window_products_differ_the_full_product_decides_every_tie():
    rng = np.random.default_rng(9)
    points = (rng.standard_normal((FULL_ROWS, 16)) + 0.5).astype(np.float32)
    target = points.astype(np.float64).mean(axis=0).astype(np.float32)
    best = int(np.argmax(points @ target))
    assert 0 < best < 4096  # in the first window, not at its start
    points[4096] = points[best]  # a tie; the windows would settle it for row 4096, first of the second window
    engine = Int8Herding(points.view(WindowsDiffer), target)
    taken = np.zeros(FULL_ROWS, dtype=bool)
    assert engine.pick(target, taken) == best
    assert engine.windows_match is False
    taken[best] = True
    assert engine.pick(target, taken) == 4096  # the duplicate is next, through the full product again
    engine.close()


def test_rescored_counts_every_rows_exact_rescoring_over_all_picks(anisotropic):
    """``rescored`` adds up the rows scored exactly at each pick: at least the winner each time, far fewer than
    every row (the benchmark reports it per pick)."""
    target = anisotropic.mean(axis=0).astype(np.float32)
    engine = Int8Herding(anisotropic, target)
    taken = np.zeros(len(anisotropic), dtype=bool)
    theta = target.copy()
    counts = []
    for _ in range(30):
        before = engine.rescored
        index = engine.pick(theta, taken)
        counts.append(engine.rescored - before)
        taken[index] = True
        theta += target - anisotropic[index]
    assert all(1 <= count < len(anisotropic) for count in counts)
    assert engine.rescored == sum(counts) >= 30
    engine.close()


def test_without_a_direction_or_with_a_zero_one_the_picks_still_equal_the_dense_loop(anisotropic):
    """``direction`` is optional (None) and may be all zeros (a herding target at the origin): every row is then
    quantised whole, and the picks are still the plain loop's."""
    points = anisotropic[:400]
    target = points.mean(axis=0).astype(np.float32)
    dense = herd(points, target, 40, engine="dense").tolist()
    for direction in (None, np.zeros(points.shape[1])):
        engine = Int8Herding(points, direction)
        assert not np.any(engine.direction) and np.array_equal(engine.along, np.zeros(len(points)))
        taken = np.zeros(len(points), dtype=bool)
        theta, picks = target.copy(), []
        for _ in range(40):
            picks.append(engine.pick(theta, taken))
            taken[picks[-1]] = True
            theta += target - points[picks[-1]]
        assert picks == dense
        engine.close()


def test_a_zero_theta_picks_the_first_row_not_taken_like_the_dense_loop():
    """theta = 0 (a target at the origin) scores every row 0 with no rounding slack at all: an exact tie of every
    row that the plain loop settles by index."""
    points = (np.random.default_rng(8).standard_normal((50, 6)) + 1.0).astype(np.float32)
    engine = Int8Herding(points, points.mean(axis=0))
    taken = np.zeros(50, dtype=bool)
    taken[[0, 1, 3]] = True
    zero = np.zeros(6, dtype=np.float32)
    assert engine.pick(zero, taken) == dense_pick(points, zero, taken) == 2
    engine.close()


def test_threads_sets_the_int8_pass_thread_count():
    """``threads`` is the int8 pass's thread count; left out, numba's (``NUMBA_NUM_THREADS``)."""
    points = np.ones((4, 3), dtype=np.float32)
    other = numba.get_num_threads() + 1
    for threads, expected in ((1, 1), (other, other), (None, numba.get_num_threads())):
        engine = Int8Herding(points, threads=threads)
        assert engine.splitter.threads == expected
        engine.close()


def test_each_row_is_quantised_once_a_block_at_a_time(monkeypatch):
    """Rows are read and quantised in blocks of ``block_rows`` (a streamed matrix is made as it is read), each row
    once: 10 blocks of 10 for 95 rows, the last one short."""
    from hfplug_gm_matching import kernels
    from hfplug_gm_matching.streamed import StreamedRows

    blocks = []
    quantize = kernels.quantize_residuals

    def recorded(matrix, *arrays):
        blocks.append(len(matrix))
        quantize(matrix, *arrays)

    monkeypatch.setattr(kernels, "quantize_residuals", recorded)
    points = (np.random.default_rng(2).standard_normal((95, 4)) + 1.0).astype(np.float32)
    engine = Int8Herding(StreamedRows.checked(points, unit=False, block_rows=10), points.mean(axis=0))
    assert blocks == [10] * 9 + [5]
    engine.close()


def test_fallbacks_count_each_near_tie_and_only_those():
    """Rows in exact duplicate pairs, picked with one fixed theta until none is left: a pair's first pick is a
    tie the float32 loop's own scores settle (one fallback), its second is not (its twin is gone). The distinct
    rows are 1e-3 apart: closer than int8 resolves (several candidates rescored at most picks) but far outside
    float32 rounding, so the exact float64 scores settle them. So n / 2 fallbacks, and the picks are dense's."""
    rng = np.random.default_rng(12)
    distinct = (1.0 + 1e-3 * rng.standard_normal((30, 8))).astype(np.float32)
    points = np.repeat(distinct, 2, axis=0)[rng.permutation(60)]
    theta = distinct.mean(axis=0)
    engine = Int8Herding(points)  # no direction: rows quantised whole, so int8 cannot tell 1e-3 apart
    taken = np.zeros(60, dtype=bool)
    for _ in range(60):
        pick = engine.pick(theta, taken)
        assert pick == dense_pick(points, theta, taken)
        taken[pick] = True
    assert engine.fallbacks == 30
    assert engine.rescored > 2 * 60  # the premise: most picks rescored more rows than a pair
    engine.close()
