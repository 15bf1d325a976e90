"""Stage 2's work in a process of its own, so the two stages use two cores.

The counting agent (app.py) still consumes the subjects topic and
acknowledges; only the recount itself (load, compute, one insert: see
counting_runner.py) runs in a child process, one call at a time, and the
agent acknowledges after the child has returned. A child that dies (killed,
out of memory) fails the call, which the agent retries on a new child: the
recount starts again from what the store holds, an insert that failed
part-way finished first from its intents (counting_runner.py).

The child must not outlive the worker: a recount still running after the
worker died could write beside the worker that takes over its partitions,
and two writers of one subject would both emit the same deltas. So the
child asks the kernel for SIGKILL when its parent dies (prctl
PR_SET_PDEATHSIG), and also exits as soon as it sees a new parent pid,
within a tenth of the broker's session timeout, before any other worker can
be given the partitions.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from services.aggregator.config import AggregatorSettings
from services.aggregator.counting_runner import CountingRunner, RecountStats
from services.aggregator.counting_store import CountingStore
from services.aggregator.errors import AggregatorError
from services.common import logs
from services.common.collector import tune_for_batches
from services.common.counting import Model
from services.common.parent_death import die_with_parent

_runner: CountingRunner | None = None


class CountingProcessDied(AggregatorError):
    """The recount's process ended during a call (the call is retried)."""


def _watch_parent(parent: int, every_s: float) -> None:
    while os.getppid() == parent:
        time.sleep(every_s)
    os._exit(70)


def _start(settings: AggregatorSettings, parent: int) -> None:
    """Runs in the child, once: dies with the parent, then builds the runner."""
    die_with_parent(parent, signal.SIGKILL)
    every_s = min(0.5, settings.session_timeout_s / 10)
    threading.Thread(target=_watch_parent, args=(parent, every_s), daemon=True).start()
    # the worker's own SIGTERM/SIGINT handling stops us through the pool
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logs.configure(settings.log_format, settings.log_level)  # its warnings in the worker's log
    global _runner
    _runner = CountingRunner(CountingStore(settings), Model(tuple(settings.focus_area_list)))
    tune_for_batches()


def _recount(subjects: list[str]) -> RecountStats:
    assert _runner is not None, "the counting process was not started"
    return _runner.recount(subjects)


class CountingProcess:
    """`recount(subjects)` run in one child process (spawned, not forked:
    the worker has threads and an event loop)."""

    def __init__(self, settings: AggregatorSettings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start,
                    initargs=(self._settings, os.getpid()),
                )
            return self._pool

    def recount(self, subjects: Iterable[str]) -> RecountStats:
        pool = self._executor()
        try:
            return pool.submit(_recount, list(subjects)).result()
        except BrokenProcessPool:
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
            raise CountingProcessDied("the counting process ended during a recount") from None

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
