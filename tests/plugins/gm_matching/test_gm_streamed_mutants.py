"""StreamedRows, piece by piece, each against a from-scratch NumPy computation: which inputs stream, the float32
rows and blocks it hands out, its checks, and what reading a memory-mapped file leaves in this process's memory
(written to kill the mutants of streamed.py that the selection-level tests let through)."""

from __future__ import annotations

import mmap
from pathlib import Path

import numpy as np
import pytest
from hfplug_gm_matching.streamed import StreamedRows, streams

from hfplug.errors import DatasetError


def on_disk(path: Path, values: np.ndarray, mode: str = "r") -> np.memmap:
    np.save(path, values)
    return np.load(path, mmap_mode=mode)


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [("int8", True), ("uint8", True), ("int16", True), ("float16", True), ("float32", False), ("float64", False)],
)
def test_in_memory_arrays_stream_when_narrower_than_float32(dtype, expected):
    assert streams(np.ones((3, 2), dtype=dtype)) is expected


def test_a_memmap_streams_whatever_its_dtype_and_a_list_does_not(tmp_path):
    assert streams(on_disk(tmp_path / "rows.npy", np.ones((3, 2), dtype=np.float64))) is True
    assert streams([[1, 2], [3, 4]]) is False


def test_int8_rows_come_back_as_float32_with_their_exact_values():
    codes = np.random.default_rng(0).integers(-128, 128, size=(20, 5)).astype(np.int8)
    rows = StreamedRows.checked(codes, unit=False, block_rows=3)
    expected = codes.astype(np.float64)  # int8 values are exact in float32
    assert rows[2:9].dtype == np.float32 and np.array_equal(rows[2:9], expected[2:9])
    assert rows[7].dtype == np.float32 and np.array_equal(rows[7], expected[7])
    assert np.array_equal(rows[-4:], expected[-4:])
    assert np.array_equal(rows[np.array([19, 0, 5])], expected[[19, 0, 5]])
    theta = np.arange(5, dtype=np.float32)
    assert np.array_equal(rows @ theta, expected @ theta)  # small integers: every product and sum is exact


def test_shape_size_and_nbytes_are_those_of_the_float32_matrix():
    codes = np.ones((11, 4), dtype=np.int8)
    rows = StreamedRows.checked(codes, unit=False)
    assert (rows.shape, len(rows), rows.size, rows.nbytes) == ((11, 4), 11, 44, 176)
    part = rows.subset(np.array([1, 2, 9]))
    assert (part.shape, len(part), part.size, part.nbytes) == ((3, 4), 3, 12, 48)


def test_blocks_cover_the_view_in_order_with_the_requested_size():
    codes = np.arange(26 * 2, dtype=np.int16).reshape(26, 2)
    rows = StreamedRows.checked(codes, unit=False, block_rows=10)
    assert [(start, len(block)) for start, block in rows.blocks()] == [(0, 10), (10, 10), (20, 6)]
    assert [(start, len(block)) for start, block in rows.blocks(4)][:2] == [(0, 4), (4, 4)]
    assert np.array_equal(np.concatenate([block for _, block in rows.blocks(4)]), codes)
    part = rows.subset(np.arange(3, 26))
    assert (part.block_rows, part.unit) == (10, False)
    assert [start for start, _ in part.blocks()] == [0, 10, 20]


def test_a_view_of_a_view_keeps_the_norms_and_divides_by_them(tmp_path):
    values = np.random.default_rng(1).standard_normal((30, 6)).astype(np.float32) + 2
    rows = StreamedRows.checked(on_disk(tmp_path / "rows.npy", values), unit=True, block_rows=1)
    norms = np.sqrt((values.astype(np.float64) ** 2).sum(axis=1))
    unit = values / norms[:, None]
    part = rows.subset(np.arange(10, 30)).subset(np.array([0, 5, 19]))
    assert (part.unit, part.block_rows) == (True, 1)
    np.testing.assert_allclose(part[0:3], unit[[10, 15, 29]], rtol=1e-6)
    np.testing.assert_allclose(part[np.int64(1)], unit[15], rtol=1e-6)


def test_strided_slices_are_refused():
    rows = StreamedRows.checked(np.ones((6, 2), dtype=np.int8), unit=False)
    with pytest.raises(IndexError, match="contiguous"):
        rows[::2]


def test_float_rows_are_checked_for_nan_under_euclidean_too():
    values = np.ones((12, 3), dtype=np.float16)
    values[9, 1] = np.inf
    with pytest.raises(DatasetError, match="row 9 has a NaN or infinite value"):
        StreamedRows.checked(values, unit=False, block_rows=4)


def test_an_all_zero_int8_row_is_refused_under_cosine_only():
    codes = np.ones((8, 3), dtype=np.int8)
    codes[5] = 0
    with pytest.raises(DatasetError, match="row 5 is an all-zero embedding"):
        StreamedRows.checked(codes, unit=True, block_rows=3)
    assert StreamedRows.checked(codes, unit=False).norms is None


def test_a_single_column_is_a_matrix_too():
    codes = np.array([[3], [-2], [5]], dtype=np.int8)
    assert np.array_equal(StreamedRows.checked(codes, unit=False)[0:3], codes)


@pytest.mark.parametrize("shape", [(0, 3), (3, 0)])
def test_an_empty_matrix_either_way_is_refused(shape):
    with pytest.raises(DatasetError, match="empty"):
        StreamedRows.checked(np.ones(shape, dtype=np.int8), unit=False)


def test_one_row_per_block_is_allowed():
    codes = np.arange(1, 7, dtype=np.int8).reshape(3, 2)
    rows = StreamedRows.checked(codes, unit=True, block_rows=1)
    np.testing.assert_allclose(rows[0:3], codes / np.linalg.norm(codes.astype(np.float64), axis=1)[:, None], 1e-6)


class RecordingMmap(mmap.mmap):
    """A real file mapping that also records the byte ranges it is told to drop."""

    dropped: list[tuple[int, int]]

    def madvise(self, option: int, start: int = 0, length: int | None = None) -> None:
        if option == mmap.MADV_DONTNEED:
            self.dropped.append((start, len(self) - start if length is None else length))
        super().madvise(option, start, length if length is not None else len(self) - start)


@pytest.fixture
def recorded(monkeypatch):
    """Memmaps opened from here on map their file with a :class:`RecordingMmap` (np.memmap calls mmap.mmap)."""
    RecordingMmap.dropped = []
    monkeypatch.setattr(mmap, "mmap", RecordingMmap)
    return RecordingMmap.dropped


def dropped_bytes(dropped: list[tuple[int, int]]) -> set[int]:
    return {byte for start, length in dropped for byte in range(start, start + length)}


# int8 rows of 1021 bytes: rows straddle pages, and the file's size (128-byte header + n x 1021) is odd.
N_ROWS, WIDTH, HEADER = 300, 1021, 128


def rows_bytes(first: int, stop: int) -> set[int]:
    return set(range(HEADER + first * WIDTH, HEADER + stop * WIDTH))


def test_each_read_of_a_mapped_file_drops_exactly_its_pages(tmp_path, recorded):
    values = np.random.default_rng(2).integers(-128, 128, size=(N_ROWS, WIDTH)).astype(np.int8)
    stored = on_disk(tmp_path / "rows.npy", values)
    assert isinstance(stored.base, RecordingMmap) and len(stored.base) % 8
    rows = StreamedRows.checked(stored, unit=False, block_rows=100)
    assert np.array_equal(rows[100:200], values[100:200])
    page = mmap.PAGESIZE
    expected = set(range((HEADER + 100 * WIDTH) // page * page, HEADER + 200 * WIDTH))
    assert dropped_bytes(recorded) == expected  # the rows read, from the start of their first page, nothing after
    recorded.clear()
    assert np.array_equal(rows[np.array([250, 40, 90])], values[[250, 40, 90]])
    assert rows_bytes(40, 251) <= dropped_bytes(recorded) <= set(range(0, HEADER + 251 * WIDTH))


def test_reads_through_a_view_of_a_memmap_drop_their_pages(tmp_path, recorded):
    values = np.random.default_rng(3).integers(-128, 128, size=(N_ROWS, WIDTH)).astype(np.int8)
    view = on_disk(tmp_path / "rows.npy", values)[50:]  # a memmap whose base is a memmap, not the mapping
    rows = StreamedRows.checked(view, unit=False, block_rows=64).subset(np.arange(0, 250, 5))
    assert np.array_equal(np.concatenate([block for _, block in rows.blocks()]), values[50::5])
    assert rows_bytes(50, 296) <= dropped_bytes(recorded)


def test_a_memmap_copy_without_a_mapping_and_empty_reads_are_read_as_they_are(tmp_path, recorded):
    values = np.random.default_rng(4).integers(-128, 128, size=(20, 7)).astype(np.int8)
    copied = on_disk(tmp_path / "rows.npy", values).copy()
    assert isinstance(copied, np.memmap) and copied.base is None
    rows = StreamedRows.checked(copied, unit=True, block_rows=6)
    unit = values / np.linalg.norm(values.astype(np.float64), axis=1, keepdims=True)
    np.testing.assert_allclose(rows[3:17], unit[3:17], rtol=1e-6)
    assert rows[np.array([], dtype=np.int64)].shape == (0, 7)
    assert recorded == []


def test_a_copy_on_write_mapping_keeps_its_changes_after_a_read(tmp_path, recorded):
    values = np.zeros((4096, 1024), dtype=np.int8)
    stored = on_disk(tmp_path / "rows.npy", values, mode="c")
    stored[:, 0] = 7  # changes that live only in this process's private pages
    rows = StreamedRows.checked(stored, unit=False, block_rows=512)
    assert [float(block[:, 0].sum()) for _, block in rows.blocks()] == [7 * 512.0] * 8
    assert np.all(stored[:, 0] == 7) and float((rows @ np.eye(1024, dtype=np.float32)[0]).sum()) == 7 * 4096.0
    assert recorded == []
