"""Memory-mapped and int8 embeddings: the picks of their float32 copy, no float32 copy of them in memory, and a clear
error for input that cannot be used."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from hfplug_gm_matching import select
from hfplug_gm_matching.bounded import WINDOW
from hfplug_gm_matching.streamed import StreamedRows

from hfplug.errors import ConfigError, DatasetError


def on_disk(path, values: np.ndarray) -> np.memmap:
    """``values`` written to a file and opened read-only as a memmap, as ``np.load(..., mmap_mode="r")`` gives."""
    np.save(path, values)
    return np.load(path, mmap_mode="r")


def embedding_like(n: int, d: int, seed: int) -> np.ndarray:
    """float32 rows with a shared direction and anisotropic noise, a few exact duplicates (ties) among them."""
    rng = np.random.default_rng(seed)
    rows = (rng.standard_normal((n, d)) * np.linspace(1.5, 0.1, d) + 1.0).astype(np.float32)
    rows[rng.integers(n, size=n // 20)] = rows[rng.integers(n, size=n // 20)]
    return rows


CASES = [
    {"selector": "gm_matching"},
    {"selector": "gm_matching", "metric": "euclidean", "batches": 3, "init": "random"},
    {"selector": "gm_matching", "gm_subsample": 0.5, "batches": 2, "engine": "int8"},
    {"selector": "gm_matching", "engine": "dense"},
    {"selector": "herding", "batches": 4},
    {"selector": "moderate"},
    {"selector": "hard", "metric": "euclidean"},
]


@pytest.mark.parametrize("options", CASES)
@pytest.mark.parametrize("labelled", [False, True])
def test_memmap_input_picks_what_the_in_memory_matrix_picks(tmp_path, options, labelled):
    values = embedding_like(700, 12, seed=1)
    labels = np.random.default_rng(2).integers(3, size=700) if labelled else None
    stored = on_disk(tmp_path / "rows.npy", values)
    expected = select(values, 90, labels=labels, block_rows=64, **options)
    assert isinstance(stored, np.memmap)
    assert select(stored, 90, labels=labels, block_rows=64, **options).tolist() == expected.tolist()


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("where", ["memory", "disk"])
def test_int8_input_picks_what_its_float32_copy_picks(tmp_path, metric, where):
    codes = np.random.default_rng(4).integers(-128, 128, size=(900, 16)).astype(np.int8)
    codes[:, 0] = 100  # a shared direction, as in sentence embeddings
    source = codes if where == "memory" else on_disk(tmp_path / "codes.npy", codes)
    expected = select(codes.astype(np.float32), 60, metric=metric, batches=2, block_rows=100)
    assert select(source, 60, metric=metric, batches=2, block_rows=100).tolist() == expected.tolist()


N, D, BLOCK = 40_000, 256, 512


def test_peak_memory_is_the_int8_state_plus_a_few_blocks_never_a_float32_copy(tmp_path):
    """Measured with tracemalloc (NumPy reports its allocations to it; the mapped file's pages are not
    allocations), after a warm-up so that imports and JIT compilation are not counted. Besides the int8 engine's
    copy (one byte per entry) and a fixed number of values per row, the selection holds a few blocks of rows:
    ``block_rows`` read at a time, and the 4096-row windows of the float32 product that settles a near tie. A
    float32 copy of the input (41 MB here) does not fit under the bound."""
    select(on_disk(tmp_path / "warm.npy", embedding_like(2000, D, seed=0)), 5, block_rows=BLOCK, gm_max_iter=3)
    stored = on_disk(tmp_path / "rows.npy", embedding_like(N, D, seed=5))
    float32_copy = N * D * 4
    per_row_state = N * D + 112 * N
    bound = per_row_state + 2.5 * (BLOCK + WINDOW) * D * 4
    assert bound < 0.7 * float32_copy
    tracemalloc.start()
    try:
        picks = select(stored, 40, block_rows=BLOCK, gm_max_iter=20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(set(picks.tolist())) == 40
    assert peak < bound, f"peak {peak / 1e6:.1f} MB, bound {bound / 1e6:.1f} MB"


def test_streamed_rows_are_the_normalised_float32_rows(tmp_path):
    values = embedding_like(300, 8, seed=6)
    rows = StreamedRows.checked(on_disk(tmp_path / "rows.npy", values), unit=True, block_rows=7)
    unit = values / np.linalg.norm(values, axis=1, keepdims=True)
    some = np.array([3, 50, 51, 299])
    assert np.array_equal(rows[10:40], unit[10:40])
    assert np.array_equal(rows[some], unit[some])
    assert np.array_equal(rows.subset(some)[1:3], unit[[50, 51]])
    assert np.array_equal(rows.subset(np.arange(100, 300)).subset(np.array([0, 199]))[0:2], unit[[100, 299]])
    assert np.array_equal(rows @ unit[0], unit @ unit[0])


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (np.zeros((10, 4), dtype=np.bool_), "integers or real floats"),
        (np.ones((10, 4), dtype=np.complex64), "integers or real floats"),
        (np.ones(10, dtype=np.int8), "2-D"),
        (np.ones((2, 3, 4), dtype=np.int8), "2-D"),
        (np.ones((0, 4), dtype=np.int8), "empty"),
    ],
)
def test_unusable_memmaps_are_refused_naming_the_problem(tmp_path, values, message):
    with pytest.raises(DatasetError, match=message):
        select(on_disk(tmp_path / "bad.npy", values), 1)


def test_bad_rows_k_and_engine_are_refused_on_disk_too(tmp_path):
    values = embedding_like(50, 4, seed=7)
    values[31, 2] = np.nan
    with pytest.raises(DatasetError, match="row 31 has a NaN"):
        select(on_disk(tmp_path / "nan.npy", values), 5, block_rows=8)
    values[31] = 0
    stored = on_disk(tmp_path / "zero.npy", values)
    with pytest.raises(DatasetError, match="row 31 is an all-zero embedding"):
        select(stored, 5)
    assert len(select(stored, 5, metric="euclidean")) == 5
    with pytest.raises(DatasetError, match=r"between 1 and the number of rows \(50\)"):
        select(stored, 51, metric="euclidean")
    with pytest.raises(ConfigError, match="needs the float32 matrix in memory"):
        select(stored, 5, metric="euclidean", engine="torch")
    with pytest.raises(ConfigError, match="block_rows"):
        select(stored, 5, block_rows=0)


def test_reading_a_memmap_leaves_the_file_unchanged(tmp_path):
    values = embedding_like(400, 8, seed=8)
    path = tmp_path / "rows.npy"
    select(on_disk(path, values), 20, block_rows=50)
    assert np.array_equal(np.load(path), values)
