"""A `limits` storage that the processes of one service share: an SQLite file.

With `RIBAO_INGEST_WORKERS=N` each worker is a process of its own, so the
library's in-memory storage would give a credential N windows (N times the
limit). This storage keeps the moving windows in one SQLite database in the
run's folder (`RIBAO_RATE_LIMIT_DIR`, which the ingest parent sets); every
hit is one short write transaction (WAL, no fsync: the windows need not
survive a crash), serialised by SQLite's lock across the processes.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from limits.storage import MovingWindowSupport, Storage

_SCHEMA = """
CREATE TABLE IF NOT EXISTS hits (key TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS hits_key_at ON hits (key, at);
CREATE TABLE IF NOT EXISTS window_sizes (key TEXT PRIMARY KEY, n INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires REAL NOT NULL);
"""


class SharedFileStorage(Storage, MovingWindowSupport):
    """Moving (and fixed) windows in an SQLite file shared by processes."""

    STORAGE_SCHEME = ["ribao+sqlite"]  # noqa: RUF012 (the base class declares it so)

    def __init__(self, path: Path, wrap_exceptions: bool = False) -> None:
        self._path = path
        self._local = threading.local()
        super().__init__(None, wrap_exceptions=wrap_exceptions)
        with self._connect() as db:
            db.executescript(_SCHEMA)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return sqlite3.Error

    def _connect(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self._path, timeout=10, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=OFF")
            self._local.db = db
        return db

    def _expire(self, db: sqlite3.Connection, key: str, cutoff: float) -> int:
        """Drops the key's entries at or before `cutoff` (inside a write
        transaction); the entries left in its window. The size is kept beside
        the entries, so neither a hit nor a look counts them all."""
        gone = db.execute("DELETE FROM hits WHERE key = ? AND at <= ?", (key, cutoff)).rowcount
        row = db.execute("SELECT n FROM window_sizes WHERE key = ?", (key,)).fetchone()
        n = max(0, (int(row[0]) if row else 0) - gone)
        if gone:
            db.execute("UPDATE window_sizes SET n = ? WHERE key = ?", (n, key))
        return n

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        now = time.time()
        db = self._connect()
        db.execute("BEGIN IMMEDIATE")
        try:
            n = self._expire(db, key, now - expiry)
            if n + amount > limit:
                db.execute("COMMIT")
                return False
            db.executemany("INSERT INTO hits VALUES (?, ?)", [(key, now)] * amount)
            db.execute(
                "INSERT INTO window_sizes VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET n = ?",
                (key, n + amount, n + amount),
            )
            db.execute("COMMIT")
            return True
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        now = time.time()
        db = self._connect()
        db.execute("BEGIN IMMEDIATE")
        try:
            n = self._expire(db, key, now - expiry)
            row = db.execute("SELECT min(at) FROM hits WHERE key = ?", (key,)).fetchone()
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return (float(row[0]) if n and row[0] is not None else now), n

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        db = self._connect()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("DELETE FROM counters WHERE key = ? AND expires <= ?", (key, now))
            db.execute(
                "INSERT INTO counters VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET count = count + ?",
                (key, amount, now + expiry, amount),
            )
            (count,) = db.execute("SELECT count FROM counters WHERE key = ?", (key,)).fetchone()
            db.execute("COMMIT")
            return int(count)
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def get(self, key: str) -> int:
        row = (
            self._connect()
            .execute("SELECT count FROM counters WHERE key = ? AND expires > ?", (key, time.time()))
            .fetchone()
        )
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._connect().execute("SELECT expires FROM counters WHERE key = ?", (key,)).fetchone()
        return float(row[0]) if row else time.time()

    def check(self) -> bool:
        self._connect().execute("SELECT 1").fetchone()
        return True

    def reset(self) -> int | None:
        db = self._connect()
        n = db.execute("DELETE FROM hits").rowcount + db.execute("DELETE FROM counters").rowcount
        db.execute("DELETE FROM window_sizes")
        return int(n)

    def clear(self, key: str) -> None:
        db = self._connect()
        for table in ("hits", "counters", "window_sizes"):
            db.execute(f"DELETE FROM {table} WHERE key = ?", (key,))
