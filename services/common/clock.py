"""The server clock that stamps `recorded_at`."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from schemas.records import from_micros


class RecordClock:
    """UTC wall clock in microseconds, strictly increasing within a process, so
    that the events of one request (and of concurrent requests) never tie.

    With `step` N and `offset` k (ingest worker k of N, services/ingest/workers.py)
    it hands out only microseconds ≡ k (mod N), so that the stamps of N
    processes never tie either."""

    def __init__(self, step: int = 1, offset: int = 0) -> None:
        if step < 1 or not 0 <= offset < step:
            raise ValueError(f"a record clock needs 0 <= offset < step, not offset {offset}, step {step}")
        self._step = step
        self._offset = offset
        self._last = offset - step
        self._lock = threading.Lock()

    def now_us(self) -> int:
        return self.reserve(1)[0]

    def reserve(self, count: int) -> range:
        """`count` stamps (µs), `step` apart, all later than every stamp handed out
        before: one lock for a whole request's events."""
        step = self._step
        with self._lock:
            now = time.time_ns() // 1000
            # the first stamp of our residue class at or after now
            first = max(now + (self._offset - now) % step, self._last + step)
            self._last = first + (max(count, 1) - 1) * step
            return range(first, self._last + 1, step)

    def now(self) -> datetime:
        return from_micros(self.now_us())


class WallClock:
    """What time it is now (UTC): the API's `now`, for `date` defaults and
    `as_of`. Services hold one in their state, so a test can set another."""

    def now(self) -> datetime:
        return datetime.now(UTC)
