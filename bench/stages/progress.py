"""Progress lines for long stages (every few seconds, to stderr)."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, label: str, total: int, every_s: float = 5.0) -> None:
        self._label = label
        self._total = total
        self._every = every_s
        self._started = time.perf_counter()
        self._last = self._started

    def update(self, done: int, extra: str = "", force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self._last < self._every:
            return
        self._last = now
        elapsed = now - self._started
        rate = done / elapsed if elapsed > 0 else 0.0
        pct = f" ({100 * done / self._total:.0f}%)" if self._total else ""
        print(
            f"  {self._label}: {done:,}/{self._total:,}{pct}, {rate:,.0f}/s, {elapsed:.0f}s {extra}",
            file=sys.stderr,
            flush=True,
        )
