"""The row splitter behind the int8 pass: every row exactly once, whatever the thread count; errors surface."""

from __future__ import annotations

import numpy as np
import pytest
from hfplug_gm_matching.row_split import RowSplitter


@pytest.mark.parametrize(("threads", "rows"), [(1, 10), (2, 1001), (3, 7), (4, 100_003), (2, 1)])
def test_every_row_is_visited_exactly_once(threads, rows):
    visits = np.zeros(rows, dtype=np.int64)

    def kernel(out: np.ndarray, start: int, stop: int) -> None:
        out[start:stop] += 1

    splitter = RowSplitter(threads)
    for _ in range(5):  # several passes through the same workers
        splitter.run(kernel, rows, visits)
    splitter.close()
    np.testing.assert_array_equal(visits, 5)


def test_an_error_in_a_piece_reaches_the_caller():
    def kernel(start: int, stop: int) -> None:
        if start > 0:
            raise ValueError(f"piece at {start}")

    splitter = RowSplitter(2)
    with pytest.raises(ValueError, match="piece at"):
        splitter.run(kernel, 1000)
    splitter.close()
