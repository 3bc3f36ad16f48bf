"""Which herding engine ``auto`` runs (the picks are the same, so only a spy can tell), the engines' refusals, and
Weiszfeld's iteration against a from-scratch float64 loop: its zero-distance rule, stopping rule and arguments."""

from __future__ import annotations

import numpy as np
import pytest
from hfplug_gm_matching import herding, weiszfeld
from hfplug_gm_matching.streamed import StreamedRows

from hfplug.errors import ConfigError


@pytest.fixture
def engines(monkeypatch):
    """Records which engine each ``herd`` call ran: 'int8', 'torch', or nothing for the dense loop."""
    ran = []

    class RecordedInt8(herding.Int8Herding):
        def __init__(self, *args, **kwargs):
            ran.append("int8")
            super().__init__(*args, **kwargs)

    def recorded_torch(points, target, theta, k, device, bar, on_step):
        ran.append(("torch", device))
        return np.arange(k)

    monkeypatch.setattr(herding, "Int8Herding", RecordedInt8)
    monkeypatch.setattr(herding, "_herd_torch", recorded_torch)
    return ran


def test_auto_takes_int8_from_four_million_entries_and_for_streamed_rows(engines):
    rng = np.random.default_rng(0)
    at_threshold = rng.standard_normal((2000, 2000)).astype(np.float32)  # 4,000,000 entries
    just_below = at_threshold.reshape(-1)[:3_999_998].reshape(1_999_999, 2)
    herding.herd(at_threshold, at_threshold[0], 1)
    assert engines == ["int8"]
    herding.herd(just_below, just_below[0], 1)
    assert engines == ["int8"]  # the dense loop
    small = rng.integers(-9, 9, (30, 4)).astype(np.int8)
    herding.herd(StreamedRows.checked(small, unit=False), np.ones(4, dtype=np.float32), 2)
    assert engines == ["int8", "int8"]


def test_auto_takes_torch_on_any_device_but_the_cpu(engines):
    points = np.random.default_rng(1).standard_normal((20, 3)).astype(np.float32)
    assert herding.herd(points, points[0], 4, device="cuda:1").tolist() == [0, 1, 2, 3]
    assert engines == [("torch", "cuda:1")]
    herding.herd(points, points[0], 4, device="cpu:0")
    assert engines == [("torch", "cuda:1")]


def test_cpu_engines_refuse_a_gpu_and_torch_refuses_streamed_rows():
    points = np.random.default_rng(2).standard_normal((20, 3)).astype(np.float32)
    for engine in ("int8", "dense"):
        with pytest.raises(ConfigError, match=f"herding engine '{engine}' runs on the CPU"):
            herding.herd(points, points[0], 2, engine=engine, device="cuda")
    with pytest.raises(ConfigError, match="engine 'torch' needs the float32 matrix in memory"):
        herding.herd(StreamedRows.checked(points.astype(np.float16), unit=False), points[0], 2, engine="torch")


def weiszfeld_from_scratch(points: np.ndarray, eps: float, max_iter: int) -> tuple[np.ndarray, int, bool]:
    """Weiszfeld in float64 from the mean: weights 1/d_i (1/1e-8 where d_i = 0), stop once a step is <= eps."""
    mu = points.mean(axis=0)
    for iteration in range(1, max_iter + 1):
        distances = np.linalg.norm(points - mu, axis=1)
        weights = 1.0 / np.where(distances == 0, 1e-8, distances)
        step = weights @ (points - mu) / weights.sum()
        mu = mu + step
        if np.linalg.norm(step) <= eps:
            return mu, iteration, True
    return mu, max_iter, False


@pytest.mark.parametrize(("eps", "max_iter"), [(1e-5, 5000), (1e-3, 5000), (1e-5, 3), (1e-5, 1)])
def test_weiszfeld_equals_a_float64_loop_with_its_iteration_count(eps, max_iter):
    points = np.random.default_rng(3).standard_normal((40, 3)) * [4.0, 1.0, 0.25] + [1.0, -2.0, 0.5]
    median, iterations, converged = weiszfeld_from_scratch(points, eps, max_iter)
    result = weiszfeld(points, eps=eps, max_iter=max_iter)
    assert (result.iterations, result.converged) == (iterations, converged)
    np.testing.assert_allclose(result.median, median, atol=1e-5)


def test_a_row_at_the_estimate_weighs_one_over_1e_8():
    """The mean (0) is a row: its distance 0 counts as 1e-8 [code], so the first step is 1 / (1e8 + 11/6)."""
    points = np.array([[-3.0], [0.0], [1.0], [2.0]])
    expected = (1 / 3 * -3 + 1 * 1 + 1 / 2 * 2) / (1 / 3 + 1e8 + 1 + 1 / 2)
    result = weiszfeld(points, max_iter=1)
    assert result.median[0] == pytest.approx(expected, rel=1e-6)
    assert result.converged  # a step of 1e-8 <= eps


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"eps": 0.0}, "eps must be > 0"),
        ({"eps": -1e-3}, "eps must be > 0"),
        ({"max_iter": 0}, "max_iter must be >= 1"),
        ({"subsample": 0.0}, r"subsample \(gamma\) must be in \(0, 1\]"),
        ({"subsample": 1.01}, r"subsample \(gamma\) must be in \(0, 1\]"),
    ],
)
def test_weiszfeld_refuses_arguments_outside_their_range(options, message):
    with pytest.raises(ConfigError, match=message):
        weiszfeld(np.ones((5, 2)), **options)


def test_the_edges_of_the_ranges_are_accepted():
    points = np.random.default_rng(4).standard_normal((30, 2))
    full = weiszfeld(points)
    np.testing.assert_array_equal(weiszfeld(points, subsample=1.0).median, full.median)  # every row, in order
    one_row = weiszfeld(points, subsample=1e-9, seed=2).median  # ceil(3e-8) = 1 row: its own median
    row = np.random.default_rng(2).choice(30, size=1, replace=False)
    np.testing.assert_allclose(one_row, points[row[0]], atol=1e-6)
    assert weiszfeld(points, eps=1e-300, max_iter=2).iterations == 2


def test_weiszfeld_defaults_stop_after_5000_steps_run_locally_and_draw_the_subset_with_seed_0(monkeypatch):
    """max_iter 5000 [code]; seed 0 for the gamma subset; distributed off unless asked (a process group of a
    caller's own must not make every call a collective)."""
    from hfplug_gm_matching import median

    points = np.random.default_rng(5).standard_normal((20, 2))
    endless = weiszfeld(points, eps=1e-300)  # no step is that small: only max_iter stops it
    assert (endless.iterations, endless.converged) == (5000, False)
    rows = np.sort(np.random.default_rng(0).choice(20, size=10, replace=False))
    np.testing.assert_array_equal(weiszfeld(points, subsample=0.5).median, weiszfeld(points[rows]).median)
    asked = []
    share = median.process_share
    monkeypatch.setattr(median, "process_share", lambda enabled: asked.append(enabled) or share(enabled))
    weiszfeld(points, max_iter=1)
    assert asked == [False]
