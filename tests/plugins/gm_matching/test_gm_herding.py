"""Herding: the theta identity, equality with a plain loop (both engines), and the breakdown regimes."""

from __future__ import annotations

import numpy as np
import pytest
from hfplug_gm_matching import geometric_median, herd, kernels, select
from hfplug_gm_matching.bounded import Int8Herding

from hfplug.errors import DatasetError

from .conftest import corrupted_cloud, plain_herding


@pytest.mark.parametrize("engine", ["dense", "int8", "torch"])
def test_theta_identity_after_every_step(anisotropic, engine):
    target = anisotropic.mean(axis=0).astype(np.float32)
    theta0 = anisotropic[17]
    seen = []
    order = herd(
        anisotropic, target, 60, theta0=theta0, engine=engine, on_step=lambda t, i, theta: seen.append((t, i, theta))
    )
    assert [(t, i) for t, i, _ in seen] == list(enumerate(order.tolist()))  # on_step(step, its pick, theta)
    picked = []
    for step, (_, index, theta) in enumerate(seen, start=1):
        assert type(index) is int
        picked.append(index)
        expected = theta0.astype(np.float64) + step * target - anisotropic[picked].astype(np.float64).sum(axis=0)
        np.testing.assert_allclose(theta, expected, rtol=0, atol=1e-3)
    assert len(set(picked)) == 60  # without replacement


@pytest.mark.parametrize("engine", ["dense", "int8", "torch"])
def test_the_progress_bar_counts_one_per_pick(monkeypatch, engine):
    import tqdm.auto

    bars = []

    class RecordedBar(tqdm.auto.tqdm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.counted = 0
            # a disabled bar keeps no desc: read what herd asked for
            self.asked = tuple(kwargs.get(name) for name in ("disable", "desc", "unit", "mininterval"))
            bars.append(self)

        def update(self, n=1):
            self.counted += n
            return super().update(n)

    monkeypatch.setattr(tqdm.auto, "tqdm", RecordedBar)
    points = (np.random.default_rng(4).standard_normal((30, 5)) + 1.0).astype(np.float32)
    herd(points, points.mean(axis=0), 12, engine=engine)
    herd(points, points.mean(axis=0), 3, engine=engine, progress=True, description="gm_matching")
    assert [(bar.total, bar.counted, *bar.asked) for bar in bars] == [
        (12, 12, True, "herding", "pick", 0.5),  # no bar unless asked
        (3, 3, False, "gm_matching", "pick", 0.5),
    ]


@pytest.mark.parametrize("as_float64", ["points", "target", "theta0"])
def test_float64_inputs_are_scored_in_float32_like_the_plain_loop(as_float64):
    """Row 1 beats row 0 by 1e-8 in float64, but its float32 score rounds to the same 1.0: the float32 loop has a
    tie and picks row 0. Any float64 input must be cast, or the product is taken in float64 and row 1 wins."""
    inputs = {
        "points": np.array([[1.0, 0.0], [1.0, 1e-8]], dtype=np.float32),
        "target": np.array([1.0, 1.0], dtype=np.float32),
        "theta0": np.array([1.0, 1.0], dtype=np.float32),
    }
    inputs[as_float64] = inputs[as_float64].astype(np.float64)
    assert np.float32(1.0) + np.float32(1e-8) == np.float32(1.0) and 1.0 + 1e-8 > 1.0  # the premise
    theta0 = inputs["theta0"] if as_float64 == "theta0" else None  # else theta starts as the target
    for engine in ("dense", "int8", "torch"):
        assert herd(inputs["points"], inputs["target"], 1, theta0=theta0, engine=engine).tolist() == [0]


def test_k_of_zero_is_refused():
    with pytest.raises(DatasetError, match="k=0 must be between 1 and the number of rows"):
        herd(np.ones((3, 2), dtype=np.float32), np.ones(2, dtype=np.float32), 0)


def test_herding_selector_equals_a_plain_herding_loop(anisotropic):
    picks = select(anisotropic, 300, selector="herding", metric="euclidean")
    assert picks.tolist() == plain_herding(anisotropic, anisotropic.astype(np.float64).mean(axis=0), 300)


def test_cosine_herding_equals_the_plain_loop_on_normalised_rows(anisotropic):
    unit = anisotropic / np.linalg.norm(anisotropic, axis=1, keepdims=True)
    center = unit.astype(np.float64).mean(axis=0)
    picks = select(anisotropic * 7.5, 200, selector="herding", metric="cosine")  # row scale must not matter
    assert picks.tolist() == plain_herding(unit, center / np.linalg.norm(center), 200)


@pytest.mark.parametrize(("seed", "windows", "threads"), [(0, None, 2), (1, None, 1), (0, False, 3)])
def test_int8_engine_picks_exactly_what_the_dense_loop_picks(seed, windows, threads):
    rng = np.random.default_rng(seed)
    points = (rng.standard_normal((6000, 64)) * np.linspace(3, 0.05, 64) + 1.5).astype(np.float32)
    target = geometric_median(points).astype(np.float32)
    first = np.argmax(points @ target)
    points[100:120] = points[5980:6000] = points[first]  # duplicates of the first pick: exact ties, in two windows
    dense = herd(points, target, 250, engine="dense")
    engine = Int8Herding(points, target, threads=threads)
    engine.windows_match = windows  # None: check windows at the first tie; False: full products only
    taken = np.zeros(len(points), dtype=bool)
    theta = target.copy()
    for step in range(250):
        index = engine.pick(theta, taken)
        assert index == dense[step], f"step {step}"
        taken[index] = True
        theta += target - points[index]
    assert engine.rescored < 0.05 * 250 * len(points)  # the bound did rule out most rows
    assert engine.fallbacks > 0  # and the duplicate ties were settled by the float32 loop's own scores
    engine.close()


def test_far_corruption_gm_matching_avoids_it_while_herding_takes_it():
    points, corrupted = corrupted_cloud(1000.0)
    gm = select(points, 100, selector="gm_matching", metric="euclidean")
    mean = select(points, 100, selector="herding", metric="euclidean")
    assert corrupted[gm].mean() <= 0.05  # spec: about 1%
    assert corrupted[mean].mean() >= 0.35  # spec: about 45%


def test_near_corruption_both_pick_many_of_it():
    """The guarantee is that mean(S) tracks the median, not that every outlier is avoided (spec, s = 12)."""
    points, corrupted = corrupted_cloud(12.0)
    gm = select(points, 100, selector="gm_matching", metric="euclidean")
    mean = select(points, 100, selector="herding", metric="euclidean")
    assert 0.25 <= corrupted[gm].mean() <= 0.5  # spec: about 40%
    assert corrupted[mean].mean() >= 0.4  # spec: about 48%
    target = geometric_median(points)
    assert np.linalg.norm(points[gm].mean(axis=0) - target) < np.linalg.norm(points[mean].mean(axis=0) - target)


def test_matching_error_decays_like_one_over_k_and_random_like_one_over_root_k():
    points = np.random.default_rng(7).standard_normal((4000, 8))
    target = geometric_median(points)
    ks = np.array([25, 50, 100, 200, 400, 800])

    def slope(selector: str, seeds: range) -> float:
        errors = []
        for k in ks:
            per_seed = [
                np.linalg.norm(
                    points[select(points, int(k), selector=selector, metric="euclidean", seed=s)].mean(0) - target
                )
                for s in seeds
            ]
            errors.append(np.mean(per_seed))
        return float(np.polyfit(np.log(ks), np.log(errors), 1)[0])

    assert slope("gm_matching", range(1)) < -0.8  # spec: about -1
    assert -0.7 < slope("random", range(8)) < -0.3  # spec: about -1/2


def _bounds_hold(points: np.ndarray, direction: np.ndarray, theta: np.ndarray) -> bool:
    engine = Int8Herding(points, direction)
    engine.bound(theta, np.zeros(len(points), dtype=bool))
    float32_scores = (points @ theta).astype(np.float64)  # what the plain loop compares
    return bool(np.all(engine.lower <= float32_scores) and np.all(float32_scores <= engine.upper))


def test_int8_bounds_hold_when_theta_is_exactly_representable_in_int8():
    """Theta's own int8 error is zero here, so only the rows' measured quantisation error covers the gap."""
    rng = np.random.default_rng(5)
    points = rng.standard_normal((2000, 32)).astype(np.float32)
    theta = np.concatenate([[3.0], rng.integers(-127, 128, 31) / 8.0]).astype(np.float32)
    theta[1] = 127 / 8.0
    assert _bounds_hold(points, np.eye(32)[0], theta)


def test_int8_bounds_hold_when_the_rows_are_exactly_representable_in_int8():
    """The rows' quantisation error is zero here, so only theta's int8 error covers the gap."""
    rng = np.random.default_rng(6)
    points = (rng.integers(-127, 128, (2000, 32)) / 16.0).astype(np.float32)
    points[:, 1] = 127 / 16.0
    points[:, 0] = rng.standard_normal(2000)  # the part along the direction is scored exactly
    theta = rng.standard_normal(32).astype(np.float32) * 5
    assert _bounds_hold(points, np.eye(32)[0], theta)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_int8_bounds_hold_for_embedding_like_rows(anisotropic, seed):
    theta = (np.random.default_rng(seed).standard_normal(48) * 20 + anisotropic.mean(axis=0)).astype(np.float32)
    assert _bounds_hold(anisotropic, anisotropic.mean(axis=0), theta)


@pytest.mark.parametrize("dim", [7, 384, 1031])
def test_int8_dots_are_exact_at_the_extremes_of_the_codes(dim):
    """The bound assumes the int8 pass makes no error: products reach +-127 * 127 (beyond int8) and sums
    +-d * 127 * 127 (beyond int16 for any d > 2), with any length (vector tails)."""
    rng = np.random.default_rng(dim)
    codes = rng.choice(np.array([-127, 127, -1, 0], dtype=np.int8), size=(50, dim))
    codes[0] = 127
    codes[1] = -127
    theta_codes = np.full(dim, 127, dtype=np.int8)
    theta_codes[::3] = -127
    dots = np.empty(50, dtype=np.int32)
    kernels.int8_dots(codes, theta_codes, dots, 0, 50)
    expected = codes.astype(np.int64) @ theta_codes.astype(np.int64)
    np.testing.assert_array_equal(dots, expected)
    assert np.abs(expected).max() > 2**15 * (dim > 2)


def test_torch_engine_the_gpu_path_matches_the_plain_loop_on_cpu(anisotropic):
    target = anisotropic.mean(axis=0).astype(np.float32)
    seen = []
    picks = herd(anisotropic, target, 80, engine="torch", device="cpu", on_step=lambda t, i, th: seen.append(th))
    assert picks.tolist() == plain_herding(anisotropic, target, 80)
    expected = target + 80 * target - anisotropic[picks].astype(np.float64).sum(axis=0)
    np.testing.assert_allclose(seen[-1], expected, atol=1e-3)


def test_cosine_without_unit_center_herds_to_the_center_of_the_unit_rows(anisotropic):
    unit = anisotropic / np.linalg.norm(anisotropic, axis=1, keepdims=True)
    picks = select(anisotropic, 150, selector="herding", metric="cosine", unit_center=False)
    assert picks.tolist() == plain_herding(unit, unit.astype(np.float64).mean(axis=0), 150)
    matched = np.linalg.norm(unit[picks].mean(axis=0) - unit.mean(axis=0))
    drifted = np.linalg.norm(unit[select(anisotropic, 150, selector="herding")].mean(axis=0) - unit.mean(axis=0))
    assert matched < drifted / 5  # the unit center [code] is out of reach, so its picks do not match the mean


def test_the_int8_engine_is_built_along_the_target_and_makes_every_pick(monkeypatch):
    """The int8 copy splits rows along the herding target (theta drifts along it, so that part is scored
    exactly); a copy along no direction picks the same rows, only with more rows rescored."""
    from hfplug_gm_matching import herding

    built, picks = [], []

    class RecordedInt8(Int8Herding):
        def __init__(self, points, direction=None, threads=None):
            built.append(direction)
            super().__init__(points, direction, threads)

        def pick(self, theta, taken):
            picks.append(len(picks))
            return super().pick(theta, taken)

    monkeypatch.setattr(herding, "Int8Herding", RecordedInt8)
    points = (np.random.default_rng(6).standard_normal((40, 4)) + 1.0).astype(np.float32)
    target = points.mean(axis=0)
    herd(points, target, 7, engine="int8")
    assert len(built) == 1 and np.array_equal(built[0], target) and len(picks) == 7
