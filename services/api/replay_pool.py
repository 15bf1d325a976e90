"""Processes for the replay's recomputation: parsing archived records and
running the reference implementation over them is CPU work in Python, one
core per process. Chunks of whole subjects are independent (their figures add
up), so a pool of processes recomputes them side by side."""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


#: the replay workers' niceness: an auditor's replay takes the cores HQ's
#: reports leave (issue #13: a village read while a province-day is replayed)
NICENESS = 10


def _background() -> None:
    os.nice(NICENESS)


class ReplayPool:
    """`workers` processes, started at the first replay (forkserver: not forked
    from the API's threads). With 0 workers everything runs in the caller."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload(["services.api.replay_figures"])
                self._pool = ProcessPoolExecutor(self.workers, mp_context=context, initializer=_background)
            return self._pool

    def map_unordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """fn over items, results in any order; at most 2 items per worker in
        flight, so memory stays bounded whatever the number of items."""
        if self.workers == 0:
            yield from map(fn, items)
            return
        pool = self._executor()
        pending: set[Future[R]] = set()
        try:
            for item in items:
                pending.add(pool.submit(fn, item))
                while len(pending) >= 2 * self.workers:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    yield from (f.result() for f in done)
            for f in list(pending):
                pending.discard(f)
                yield f.result()
        finally:
            for f in pending:
                f.cancel()

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(cancel_futures=True)
                self._pool = None
