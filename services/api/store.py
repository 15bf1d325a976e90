"""The API's read access to ClickHouse: one client per worker thread."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypeVar

from clickhouse_driver import Client
from clickhouse_driver.errors import Error as ClickHouseError

from services.api.errors import StoreUnavailable
from services.api.metrics import observe_query
from services.common.clickhouse import client
from services.common.config import CommonSettings
from services.common.replica_sync import ReplicasBehind, ReplicaSync

T = TypeVar("T")

#: ClickHouse settings of an auditor's reads: a lower priority than HQ's reports
#: (`priority` 1 on the report connections: a query of priority 10 waits while
#: one of 1 runs) and one thread, so a replay does not starve the live views
AUDIT: dict[str, Any] = {"priority": 10, "max_threads": 1}
REPORTS: dict[str, Any] = {"priority": 1}

log = logging.getLogger("ribao.api.store")


def _unavailable(exc: BaseException) -> StoreUnavailable:
    """The error a caller gets (the exception's type only: HQ sees no SQL),
    after logging what the server said, its stack trace left out."""
    said = str(exc).split("Stack trace:", 1)[0].strip()
    log.warning("ClickHouse query failed: %s: %s", type(exc).__name__, said)
    return StoreUnavailable(f"ClickHouse did not answer: {type(exc).__name__}")


class Queryable(Protocol):
    """Rows of a query. Called from several threads at once (a report runs its
    queries side by side): ReadStore has one connection per thread."""

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]: ...


class ReadStore:
    def __init__(self, settings: CommonSettings) -> None:
        self._settings = settings
        self._local = threading.local()
        self._replicas = ReplicaSync(settings)

    def caught_up(self, reads: Callable[[], T]) -> T:
        """`reads()`; on a cluster, run once every replica they may go to holds
        what was written before the call, and again if a server left out of
        that wait answers after them (services/common/replica_sync.py): for an
        audit that must see every archived event."""
        if not self._replicas.active:
            return reads()
        replicas = getattr(self._local, "replicas", None)
        if replicas is None:  # its connections are not shared between threads
            replicas = self._local.replicas = ReplicaSync(self._settings)
        try:
            return replicas.read(None, reads)
        except ReplicasBehind as exc:
            raise StoreUnavailable(
                f"a replica has not caught up, the audit would miss events: {exc}"
            ) from None

    def _client(self) -> Client:
        ch = getattr(self._local, "client", None)
        if ch is None:
            ch = client(self._settings)
            self._local.client = ch
        return ch

    def iterate(
        self, sql: str, params: dict[str, Any] | None = None, audit: bool = True
    ) -> Iterator[tuple[Any, ...]]:
        """Rows as they stream from the server (memory does not grow with the result).
        Uses a connection of its own, so other queries can run meanwhile; an
        auditor's stream (the default: the replay's) runs at AUDIT priority."""
        ch = client(self._settings)
        started = time.perf_counter()
        try:
            yield from ch.execute_iter(
                sql, params, settings={"max_block_size": 10_000, **(AUDIT if audit else REPORTS)}
            )
        except (ClickHouseError, OSError, EOFError) as exc:
            raise _unavailable(exc) from None
        finally:
            observe_query(time.perf_counter() - started)
            ch.disconnect()

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        started = time.perf_counter()
        try:
            return list(self._client().execute(sql, params, settings=REPORTS))
        except (ClickHouseError, OSError, EOFError) as exc:
            self._local.client = None
            raise _unavailable(exc) from None
        finally:
            observe_query(time.perf_counter() - started)
