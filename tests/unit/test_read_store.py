"""ReadStore: a failed query is a StoreUnavailable naming only the error's
type, and what the server said is logged for the operator."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from clickhouse_driver.errors import ServerException

from services.api.errors import StoreUnavailable
from services.api.store import ReadStore
from services.common.config import CommonSettings


class _Refusing:
    def execute(self, *_args: Any, **_kwargs: Any) -> list[tuple[Any, ...]]:
        raise ServerException(
            "DB::Exception: Table ribao.submissions_by_level doesn't exist.. Stack trace:\n\n0. clickhouse",
            60,
        )


def test_a_refused_query_is_logged_with_the_servers_message(caplog: pytest.LogCaptureFixture) -> None:
    store = ReadStore(CommonSettings())
    store._local.client = _Refusing()
    with caplog.at_level(logging.WARNING, logger="ribao.api.store"), pytest.raises(StoreUnavailable) as err:
        store.query("SELECT 1")
    assert str(err.value) == "ClickHouse did not answer: ServerException"
    (record,) = caplog.records
    message = record.getMessage()
    assert "submissions_by_level doesn't exist" in message and "Code: 60" in message
    assert "Stack trace" not in message
    assert store._local.client is None  # a new connection next time
