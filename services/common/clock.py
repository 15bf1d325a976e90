"""The server clock that stamps `recorded_at`."""

from __future__ import annotations

import threading
import time
from datetime import datetime

from schemas.records import from_micros


class RecordClock:
    """UTC wall clock in microseconds, strictly increasing within a process, so
    that the events of one request (and of concurrent requests) never tie."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def now_us(self) -> int:
        return self.reserve(1)

    def reserve(self, count: int) -> int:
        """The first of `count` consecutive stamps (µs), all later than every stamp
        handed out before: one lock for a whole request's events."""
        with self._lock:
            first = max(time.time_ns() // 1000, self._last + 1)
            self._last = first + max(count, 1) - 1
            return first

    def now(self) -> datetime:
        return from_micros(self.now_us())
