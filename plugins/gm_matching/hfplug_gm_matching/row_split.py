"""Run a row-range kernel on the calling thread plus worker threads, never waiting for a worker that has not started.

A numba/OpenMP parallel region ends at a barrier that every thread of the team must reach. On a CPU shared with
other jobs a worker may not be scheduled for milliseconds, and the barrier then costs more than the work: the
int8 pass of a 100k x 384 pick took 8 ms on two threads against 1.5-2 ms on one, here. With this splitter the
rows are cut into pieces claimed one at a time from a shared counter; the calling thread claims pieces too, and
at the end waits only for the pieces a worker has actually claimed. An idle CPU gets the workers' help, a busy
one costs what one thread costs.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

# Pieces per thread: small enough that a late worker finds work left, large enough that claiming is negligible.
PIECES_PER_THREAD = 8


class RowSplitter:
    """Calls ``kernel(*args, start, stop)`` over ``[0, rows)`` in pieces; ``kernel`` must release the GIL
    (numba ``nogil=True``) and write disjoint outputs per row range."""

    def __init__(self, threads: int) -> None:
        self.threads = max(1, int(threads))
        self._pool = ThreadPoolExecutor(self.threads - 1) if self.threads > 1 else None

    def run(self, kernel: Callable[..., None], rows: int, *args) -> None:
        if self._pool is None:
            kernel(*args, 0, rows)
            return
        pieces = self.threads * PIECES_PER_THREAD
        size = -(-rows // pieces)
        pieces = -(-rows // size)
        claims = itertools.count()  # next() on it is atomic under the GIL
        lock = threading.Lock()
        finished = threading.Event()
        done = [0]
        failure: list[BaseException] = []

        def work() -> None:
            while (piece := next(claims)) < pieces:
                try:
                    kernel(*args, piece * size, min(rows, (piece + 1) * size))
                except BaseException as error:  # surfaced on the calling thread below
                    failure.append(error)
                with lock:
                    done[0] += 1
                    if done[0] == pieces:
                        finished.set()

        for _ in range(self.threads - 1):
            self._pool.submit(work)
        work()
        finished.wait()
        if failure:
            raise failure[0]

    def close(self) -> None:
        """Stop the worker threads (they finish at once: a late worker finds no piece left)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
