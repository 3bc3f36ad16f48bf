"""Embeddings that stay where they are (a memory-mapped file, or a compact dtype such as int8 in memory) and are
read as float32 a block of rows at a time, so selecting from 10M x 384 rows never holds a float32 copy of them.

A :class:`StreamedRows` answers the indexing that the selection code uses on a float32 matrix (``rows[i]``,
``rows[start:stop]``, ``rows[indices]``, ``rows @ theta``, ``len``, ``shape``) with freshly made float32 rows:
each block converted (int8, float16 ... to float32, as :func:`~.validation.embedding_matrix` converts them) and,
under the cosine metric, divided by its row's norm exactly as :func:`~.selectors.normalized_rows` divides it
(row norms are per-row reductions, the same whatever block a row is read in). The selection therefore sees the
very float32 values the in-memory path sees, and picks the same rows.
"""

from __future__ import annotations

import mmap
from typing import Any

import numpy as np

from hfplug.errors import DatasetError
from hfplug_gm_matching.bounded import WINDOW

# Rows per block read (and per Weiszfeld partial sum): 48 MB of float32 at d = 384.
BLOCK_ROWS = 1 << 15
# Input kept where it is: narrower than float32 (a float32 copy would be 2-4 times its size) or on disk.
COMPACT_ITEMSIZE = 4


def streams(embeddings: Any) -> bool:
    """Whether ``embeddings`` is read block by block: an ``np.memmap`` (e.g. ``np.load(path, mmap_mode="r")``)
    or an in-memory array of a dtype narrower than float32 (int8, uint8, int16, float16)."""
    if isinstance(embeddings, np.memmap):
        return True
    return isinstance(embeddings, np.ndarray) and embeddings.dtype.itemsize < COMPACT_ITEMSIZE


class StreamedRows:
    """float32 rows of an ``(n, d)`` integer or floating array, made a block at a time; ``unit`` divides each by its
    L2 norm (computed once, blockwise, in float32). ``rows`` restricts the view to those indices (a class, a
    batch)."""

    def __init__(
        self,
        source: np.ndarray,
        *,
        unit: bool,
        block_rows: int = BLOCK_ROWS,
        rows: np.ndarray | None = None,
        norms: np.ndarray | None = None,
    ) -> None:
        self.source = source
        self.unit = unit
        self.block_rows = int(block_rows)
        self.rows = rows
        self.norms = norms
        self.shape = (source.shape[0] if rows is None else len(rows), source.shape[1])

    @classmethod
    def checked(cls, source: Any, *, unit: bool, block_rows: int = BLOCK_ROWS) -> StreamedRows:
        """Check ``source`` (2-D, numbers, nothing empty, finite; no zero row when ``unit``) in one blockwise pass
        and return its view; raises :class:`DatasetError` naming the problem."""
        if not isinstance(source, np.ndarray):
            raise DatasetError(f"embeddings to stream must be a NumPy array or memmap, got {type(source).__name__}.")
        if source.ndim != 2:
            raise DatasetError(f"embeddings must be a 2-D matrix (rows x dimensions), got shape {source.shape}.")
        if source.shape[0] == 0 or source.shape[1] == 0:
            raise DatasetError(f"embeddings is empty (shape {source.shape}); there is nothing to select from.")
        kind = source.dtype
        if kind == np.bool_ or not (np.issubdtype(kind, np.floating) or np.issubdtype(kind, np.integer)):
            raise DatasetError(f"embeddings must hold integers or real floats (int8, float16, float32), got {kind}.")
        if block_rows < 1:
            raise DatasetError(f"block_rows must be >= 1, got {block_rows}.")
        view = cls(source, unit=False, block_rows=block_rows)
        if not unit and np.issubdtype(kind, np.integer):
            return view  # integers are finite: nothing to read
        norms = np.empty(len(view), dtype=np.float32)
        for start, block in view.blocks():
            finite = np.isfinite(block).all(axis=1)
            if not finite.all():
                raise DatasetError(
                    f"embeddings: row {start + int(np.argmin(finite))} has a NaN or infinite value; clean or drop "
                    "those rows first: they would make every distance and median meaningless."
                )
            norms[start : start + len(block)] = np.linalg.norm(block, axis=1)
        if not unit:
            return view
        zero = np.flatnonzero(norms == 0)
        if zero.size:
            raise DatasetError(
                f"row {int(zero[0])} is an all-zero embedding ({zero.size} in all); the cosine metric has no "
                "direction for it. Drop those rows or use metric: euclidean."
            )
        return cls(source, unit=True, block_rows=block_rows, norms=norms)

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def size(self) -> int:
        return self.shape[0] * self.shape[1]

    @property
    def nbytes(self) -> int:
        """Bytes the float32 matrix would take (what the selection avoids holding)."""
        return 4 * self.size

    def subset(self, indices: np.ndarray) -> StreamedRows:
        """The rows ``indices`` (positions in this view, ascending) as a view of their own."""
        indices = np.asarray(indices, dtype=np.int64)
        rows = indices if self.rows is None else self.rows[indices]
        return StreamedRows(self.source, unit=self.unit, block_rows=self.block_rows, rows=rows, norms=self.norms)

    def blocks(self, block_rows: int | None = None):
        """``(start, float32 block)`` over the view, ``block_rows`` rows each (default: the view's)."""
        step = block_rows or self.block_rows
        for start in range(0, len(self), step):
            yield start, self[start : start + step]

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, int | np.integer):
            return self[np.array([int(key)])][0]
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            if step != 1:
                raise IndexError("StreamedRows slices must be contiguous")
            if self.rows is None:
                return self._float32(slice(start, stop), start, stop)
            key = self.rows[start:stop]
            return self._float32(key, *_span(key))
        indices = np.asarray(key, dtype=np.int64)
        rows = indices if self.rows is None else self.rows[indices]
        return self._float32(rows, *_span(rows))

    def __matmul__(self, theta: np.ndarray) -> np.ndarray:
        """The float32 scores of every row, one aligned window of rows at a time (see :mod:`.bounded`)."""
        return np.concatenate([block @ theta for _, block in self.blocks(WINDOW)])

    def _float32(self, key: slice | np.ndarray, first: int, stop: int) -> np.ndarray:
        """Rows ``key`` of the source (spanning source rows ``first`` to ``stop``) as new float32 rows."""
        block = np.array(self.source[key], dtype=np.float32)
        _release_mapped(self.source, first, stop)
        if self.unit:
            block /= self.norms[key][:, None]
        return block


def _span(rows: np.ndarray) -> tuple[int, int]:
    return (int(rows.min()), int(rows.max()) + 1) if len(rows) else (0, 0)


def _release_mapped(source: np.ndarray, first: int, stop: int) -> None:
    """Drop source rows ``first:stop`` of a shared file mapping from this process's memory once read.

    Read pages of a memory-mapped file count in the process's resident memory until the kernel needs them back;
    a full pass over a 3.8 GB file would show as 3.8 GB more. ``MADV_DONTNEED`` unmaps them (the page cache keeps
    them, so a second pass reads no disk). Only read-only or shared mappings: a copy-on-write (``mode="c"``)
    mapping would lose its changes. Anything else is left as it is.
    """
    if not isinstance(source, np.memmap) or source.mode == "c" or not source.flags.c_contiguous or stop <= first:
        return
    mapping = source.base
    while mapping is not None and not isinstance(mapping, mmap.mmap):
        mapping = getattr(mapping, "base", None)
    if mapping is None or not hasattr(mapping, "madvise"):
        return
    origin = np.frombuffer(mapping, dtype=np.uint8).ctypes.data
    begin = source[first:stop].ctypes.data - origin
    end = begin + (stop - first) * source.strides[0]
    page = mmap.PAGESIZE
    aligned = begin // page * page
    if end - aligned > 0:
        mapping.madvise(mmap.MADV_DONTNEED, aligned, end - aligned)
