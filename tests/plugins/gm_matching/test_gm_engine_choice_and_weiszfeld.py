"""Which herding engine ``auto`` runs (the picks are the same, so only a spy can tell), the engines' refusals, and
Weiszfeld's iteration against a from-scratch float64 loop: its zero-distance rule, stopping rule and arguments."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hfplug_gm_matching import herding, weiszfeld
from hfplug_gm_matching.streamed import StreamedRows

from hfplug.errors import ConfigError, DatasetError


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


class ThreadedGroup:
    """``world`` threads standing in for torch.distributed processes: ``all_reduce`` sums (or maxes) the tensors
    every thread passes, as gloo does, so _Blocks' exchange runs without spawning processes."""

    def __init__(self, world: int) -> None:
        import threading

        self.world = world
        self.barrier = threading.Barrier(world, timeout=60)  # a thread that fails breaks it: no hang
        self.slots: list = [None] * world
        self.local = threading.local()

    def all_reduce(self, tensor, op=None):
        import torch.distributed as dist

        self.slots[self.local.rank] = tensor.clone()
        self.barrier.wait()
        stacked = torch.stack(self.slots)
        result = stacked.amax(dim=0) if op == dist.ReduceOp.MAX else stacked.sum(dim=0)
        self.barrier.wait()
        tensor.copy_(result)

    def run(self, task):
        """``task(rank)`` on every thread; the results in rank order (a thread's error is raised here)."""
        from concurrent.futures import ThreadPoolExecutor

        def on_thread(rank):
            self.local.rank = rank
            try:
                return task(rank)
            except BaseException:
                self.barrier.abort()
                raise

        with ThreadPoolExecutor(self.world) as pool:
            return [future.result() for future in [pool.submit(on_thread, rank) for rank in range(self.world)]]


@pytest.mark.parametrize(("rows", "block_rows", "world"), [(23, 4, 2), (23, 4, 3), (3, 4, 2)])
def test_distributed_weiszfeld_gives_every_process_the_one_process_median_bit_for_bit(
    monkeypatch, rows, block_rows, world
):
    """Each process sums its blocks (block b on process b % world), the block sums are exchanged and added in
    block order: the same median on every process as on one, bit for bit. (3 rows in one block: the second
    process has no block and learns the width from the exchange.)"""
    import torch.distributed
    from hfplug_gm_matching import median

    group = ThreadedGroup(world)
    monkeypatch.setattr(torch.distributed, "all_reduce", group.all_reduce)
    monkeypatch.setattr(median, "process_share", lambda enabled: (group.local.rank, world) if enabled else (0, 1))
    points = np.random.default_rng(rows).standard_normal((rows, 3)) * [3.0, 1.0, 0.2]
    alone = weiszfeld(points, block_rows=block_rows, eps=1e-7)
    shared = group.run(lambda rank: weiszfeld(points, block_rows=block_rows, eps=1e-7, distributed=True))
    for result in shared:
        assert (result.iterations, result.converged) == (alone.iterations, alone.converged)
        np.testing.assert_array_equal(result.median, alone.median)
    blocks = group.run(lambda rank: median._Blocks(points, block_rows, "cpu", (rank, world)))
    assert [[index for index, _ in b.mine()] for b in blocks] == [
        list(range(rank, -(-rows // block_rows), world)) for rank in range(world)
    ]


def test_block_sums_are_kept_and_added_in_float64_in_block_order():
    """sum_in_order adds per-block float64 vectors in block order: exactly Python's float sum of them in that
    order (a float32 store anywhere would round 1/3 + 1e-12)."""
    from hfplug_gm_matching import median

    points = np.arange(10, dtype=np.float64).reshape(5, 2)
    blocks = median._Blocks(points, 2, "cpu", (0, 1))
    per_block = [[1 / 3 + 1e-12 * b, 1e8 + b / 7] for b in range(3)]
    total = blocks.sum_in_order(lambda block: torch.tensor(per_block[int(block[0, 0]) // 4], dtype=torch.float64))
    expected = [0.0, 0.0]
    for values in per_block:
        expected = [a + b for a, b in zip(expected, values, strict=True)]
    assert total.dtype == torch.float64 and total.tolist() == expected


def test_a_step_exactly_eps_long_stops_the_iteration():
    """The rule is step <= eps: points with mean exactly 0 (not a row), so the first step is mu_1 itself, read
    back from a one-step run and given as eps; the second run must stop after that step."""
    points = np.array([[-3.0], [1.0], [2.0]])
    first_step = abs(float(weiszfeld(points, max_iter=1).median[0]))
    assert 0.4 < first_step < 0.7  # (1/3 * -3 + 1 + 1/2 * 2) / (1/3 + 1 + 1/2) = 6/11, up to float32 rounding
    again = weiszfeld(points, eps=first_step)
    assert (again.iterations, again.converged) == (1, True)


def test_weiszfelds_errors_name_the_points():
    with pytest.raises(DatasetError, match=r"^points must be a 2-D matrix"):
        weiszfeld(np.ones(4))
