"""The API's read access to ClickHouse: one client per worker thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any, Protocol

from clickhouse_driver import Client
from clickhouse_driver.errors import Error as ClickHouseError

from services.api.errors import StoreUnavailable
from services.api.metrics import observe_query
from services.common.clickhouse import client
from services.common.config import CommonSettings


class Queryable(Protocol):
    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]: ...


class ReadStore:
    def __init__(self, settings: CommonSettings) -> None:
        self._settings = settings
        self._local = threading.local()

    def _client(self) -> Client:
        ch = getattr(self._local, "client", None)
        if ch is None:
            ch = client(self._settings)
            self._local.client = ch
        return ch

    def iterate(self, sql: str, params: dict[str, Any] | None = None) -> Iterator[tuple[Any, ...]]:
        """Rows as they stream from the server (memory does not grow with the result).
        Uses a connection of its own, so other queries can run meanwhile."""
        ch = client(self._settings)
        started = time.perf_counter()
        try:
            yield from ch.execute_iter(sql, params, settings={"max_block_size": 10_000})
        except (ClickHouseError, OSError, EOFError) as exc:
            raise StoreUnavailable(f"ClickHouse did not answer: {type(exc).__name__}") from None
        finally:
            observe_query(time.perf_counter() - started)
            ch.disconnect()

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        started = time.perf_counter()
        try:
            return list(self._client().execute(sql, params))
        except (ClickHouseError, OSError, EOFError) as exc:
            self._local.client = None
            raise StoreUnavailable(f"ClickHouse did not answer: {type(exc).__name__}") from None
        finally:
            observe_query(time.perf_counter() - started)
