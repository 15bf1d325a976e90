"""Jurisdiction search (`GET /v1/jurisdictions?q=`): the registry's codes by
name substring or code prefix, for pickers, from an index in memory.

The index holds each level's divisions sorted by code: their codes and
parents (int arrays), their names joined into one string (`\n` between
them), and the rows in name order. Exact and prefix matches are a binary
search in name order; a substring is `str.find` over the string (C speed,
~4 M characters for the 620,573 villages), stopping at the 21st hit. The
divisions of a scope are a contiguous run of each level (codes sort by
subtree), hence a contiguous slice of the string: searching within a scope
costs no more than without. About 40 MB for the 665,272 divisions of 2023,
read from `divisions` at start-up and again when the registry's fingerprint
changes.

Order: exact matches (the name, or the code), then names that start with q,
then names that contain it; within each, by level (province before village),
then code.
"""

from __future__ import annotations

import bisect
import logging
import threading
import time
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from schemas import codes
from services.api.store import Queryable

log = logging.getLogger("ribao.api.search")

DIVISIONS_SQL = "SELECT code, name, level, parent FROM divisions ORDER BY code"
#: changes whenever a division is added, removed or renamed
FINGERPRINT_SQL = "SELECT count(), sum(cityHash64(code, name, level, parent)) FROM divisions"
#: the most results an answer lists
MAX_RESULTS = 20


@dataclass(frozen=True)
class Found:
    code: str
    name: str
    level: codes.Level
    #: (code, name, level) of each ancestor below the country, province first
    ancestors: tuple[tuple[str, str, codes.Level], ...]


class _Level:
    """The divisions of one level, sorted by code."""

    def __init__(self, rows: list[tuple[int, str, int]]) -> None:
        self.codes = array("q", (c for c, _, _ in rows))
        self.parents = array("q", (p for _, _, p in rows))
        #: where each name starts in `text` (after its `\n`); one more at the end
        self.starts = array("q")
        parts, at = [], 1
        for _, name, _ in rows:
            self.starts.append(at)
            parts.append(name)
            at += len(name) + 1
        self.starts.append(at)
        self.text = "\n" + "\n".join(parts) + "\n"
        #: the rows in the order of their names
        self.by_name = array("q", sorted(range(len(parts)), key=parts.__getitem__))

    def __len__(self) -> int:
        return len(self.codes)

    def name(self, row: int) -> str:
        return self.text[self.starts[row] : self.starts[row + 1] - 1]

    def rows(self, lo: int, hi: int) -> tuple[int, int]:
        """The rows whose codes lie in [lo, hi]."""
        return bisect.bisect_left(self.codes, lo), bisect.bisect_right(self.codes, hi)

    def named(self, q: str, first: int, last: int, exact: bool) -> list[int]:
        """Rows in [first, last) whose name is q (or starts with it), by code."""
        i = bisect.bisect_left(self.by_name, q, key=self.name)
        out = []
        while i < len(self.by_name):
            row = self.by_name[i]
            name = self.name(row)
            if name != q if exact else not name.startswith(q):
                break
            if first <= row < last:
                out.append(row)
            i += 1
        return sorted(out)

    def containing(self, q: str, first: int, last: int) -> Iterator[int]:
        """Rows in [first, last) whose name contains q, by code."""
        if first >= last:
            return
        text, starts = self.text, self.starts
        end = starts[last]
        pos = text.find(q, starts[first], end)
        while pos >= 0:
            row = bisect.bisect_right(starts, pos) - 1
            yield row
            pos = text.find(q, starts[row + 1], end)


class DivisionIndex:
    """The registry's names and codes, searchable (see the module's docstring)."""

    def __init__(self, rows: Iterable[tuple[str, str, str, str]]) -> None:
        by_level: dict[codes.Level, list[tuple[int, str, int]]] = {lv: [] for lv in codes.LEVELS}
        last = None
        for code, name, level, parent in rows:
            if code == last or level not in by_level:
                continue  # a row not merged away yet (ReplacingMergeTree)
            last = code
            row = (int(code), name.replace("\n", " "), int(parent or 0))
            by_level[level].append(row)
        self._levels = {lv: _Level(r) for lv, r in by_level.items()}
        self.size = sum(len(lv) for lv in self._levels.values())

    def _locate(self, code: int) -> tuple[codes.Level, int] | None:
        for level in codes.LEVELS:
            lv = self._levels[level]
            i = bisect.bisect_left(lv.codes, code)
            if i < len(lv) and lv.codes[i] == code:
                return level, i
        return None

    def _found(self, level: codes.Level, row: int) -> Found:
        lv = self._levels[level]
        chain: list[tuple[str, str, codes.Level]] = []
        parent = lv.parents[row]
        while parent and len(chain) < len(codes.LEVELS):
            where = self._locate(parent)
            if where is None:
                break
            up, i = where
            chain.append((str(parent).zfill(12), self._levels[up].name(i), up))
            parent = self._levels[up].parents[i]
        return Found(str(lv.codes[row]).zfill(12), lv.name(row), level, tuple(reversed(chain)))

    def search(self, q: str, scope: str, limit: int = MAX_RESULTS) -> tuple[list[Found], bool]:
        """Up to `limit` divisions within `scope` (a code) matching q, and
        whether there are more."""
        lo, hi = (int(c) for c in codes.subtree_range(scope))
        hits: list[tuple[codes.Level, int]] = []
        seen: set[tuple[str, int]] = set()
        for level, row in self._matches(q, lo, hi):
            if (level, row) not in seen:
                seen.add((level, row))
                hits.append((level, row))
                if len(hits) > limit:
                    break
        return [self._found(lv, r) for lv, r in hits[:limit]], len(hits) > limit

    def _matches(self, q: str, lo: int, hi: int) -> Iterator[tuple[codes.Level, int]]:
        if q.isdigit() and q.isascii():
            yield from self._by_code(q, lo, hi)
            return
        ranges = {level: lv.rows(lo, hi) for level, lv in self._levels.items()}
        for exact in (True, False):
            for level, lv in self._levels.items():
                for row in lv.named(q, *ranges[level], exact=exact):
                    yield level, row
        for level, lv in self._levels.items():
            for row in lv.containing(q, *ranges[level]):
                yield level, row

    def _by_code(self, q: str, lo: int, hi: int) -> Iterator[tuple[codes.Level, int]]:
        """The code itself (when q is one), then every code that starts with q."""
        if len(q) > 12:
            return
        try:
            exact = int(codes.normalize(q))
        except codes.CodeError:
            exact = -1
        if lo <= exact <= hi and (where := self._locate(exact)) is not None:
            yield where
        p_lo, p_hi = max(lo, int(q.ljust(12, "0"))), min(hi, int(q.ljust(12, "9")))
        for level in codes.LEVELS:
            lv = self._levels[level]
            first, last = lv.rows(p_lo, p_hi)
            for row in range(first, last):
                yield level, row


class SearchIndex:
    """The index of the registry in `divisions`: built in the background from
    the first registry request on (the dashboard's first drill-down, before
    anyone types), rebuilt when the registry changes (checked every `refresh_s`)."""

    def __init__(self, store: Queryable, refresh_s: float = 60.0) -> None:
        self._store = store
        self._refresh_s = refresh_s
        self._index: DivisionIndex | None = None
        self._fingerprint: tuple[int, int] | None = None
        self._ready = threading.Event()
        #: set once a build was tried (a search need not wait longer: the store is down)
        self._tried = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Starts building (once): at the first registry request, so a service
        that is never asked to search never spends the seconds it takes."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="search-index", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.refresh()
            except Exception as exc:  # the store is down: keep what we have, retry
                log.warning("search index: cannot read the registry (%s)", type(exc).__name__)
            self._tried.set()
            self._stop.wait(self._refresh_s if self._ready.is_set() else 2.0)

    def refresh(self) -> None:
        """Rebuilds the index if the registry changed since the last build."""
        count, digest = self._store.query(FINGERPRINT_SQL)[0]
        fingerprint = (int(count), int(digest))
        if fingerprint == self._fingerprint and self._index is not None:
            return
        started = time.perf_counter()
        index = DivisionIndex(self._store.query(DIVISIONS_SQL))
        self._index, self._fingerprint = index, fingerprint
        self._ready.set()
        log.info("search index: %d divisions in %.1f s", index.size, time.perf_counter() - started)

    def get(self, timeout: float) -> DivisionIndex | None:
        """The index, waiting up to `timeout` seconds for the first build
        (None if it failed: the store did not answer)."""
        self.start()
        self._tried.wait(timeout)
        return self._index
