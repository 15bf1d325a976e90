"""Every migration and every query runs on both engines: the old ClickHouse
server these machines install (18.16) and the current engine (chdb, in
process), and both give the same answers on the same rows."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from clickhouse_driver.context import Context
from clickhouse_driver.util.escape import escape_params

from schemas.events import EventRetracted, ScreeningRegistered
from schemas.records import EventRecord
from services.aggregator.fold import Effects, TopicPosition, fold, superseded
from services.api import queries
from services.common.clickhouse import client, migrations
from services.common.config import CommonSettings
from services.common.windows import report_window
from tests.integration.harness import require_services

ZONE = ZoneInfo("Asia/Shanghai")
Rows = list[tuple[Any, ...]]


def render(sql: str, params: dict[str, Any]) -> str:
    """The SQL clickhouse-driver would send, with its own escaping."""
    ctx = Context()
    ctx.settings = {}
    return sql % escape_params(params, ctx) if params else sql


class Chdb:
    def __init__(self, path: Path) -> None:
        from chdb import session

        self._s = session.Session(str(path))

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> Rows:
        import json

        out = self._s.query(render(sql, params or {}), "JSONCompact")
        text = out.bytes().decode() if hasattr(out, "bytes") else str(out)
        return [tuple(r) for r in json.loads(text)["data"]] if text.strip() else []

    def insert(self, table: str, columns: str, rows: Rows) -> None:
        values = ", ".join(render("%(r)s", {"r": r}) for r in rows)
        self._s.query(f"INSERT INTO {table} ({columns}) VALUES {values}")


class Server:
    def __init__(self, settings: CommonSettings) -> None:
        self._ch = client(settings)

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> Rows:
        return [tuple(r) for r in self._ch.execute(sql, params or {})]

    def insert(self, table: str, columns: str, rows: Rows) -> None:
        self._ch.execute(f"INSERT INTO {table} ({columns}) VALUES", rows)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    base = CommonSettings()
    require_services(base)
    settings = base.model_copy(update={"clickhouse_database": f"ribao_compat_{uuid.uuid4().hex[:8]}"})
    client(settings, database="default").execute(f"CREATE DATABASE {settings.clickhouse_database}")
    try:
        yield Server(settings)
    finally:
        client(settings, database="default").execute(
            f"DROP DATABASE IF EXISTS {settings.clickhouse_database}"
        )


def _screening(
    person: str, village: str, occurred: str, recorded: datetime, event_id: str | None = None
) -> EventRecord:
    event = ScreeningRegistered.model_validate(
        {
            "event_id": event_id or str(uuid.uuid4()),
            "type": "screening.registered",
            "jurisdiction": village,
            "occurred_at": occurred,
            "person": {"id": person},
            "data": {"category": "returnee"},
        }
    )
    return EventRecord(recorded_at=recorded, source="test", event=event)


def _effects() -> list[Effects]:
    rec = [datetime(2020, 1, 28, h, tzinfo=UTC) for h in range(24)]
    dup = str(uuid.uuid4())
    records = [
        _screening("p1", "340826103001", "2020-01-28T10:00:00+08:00", rec[3]),
        _screening("p1", "340826103002", "2020-01-27T10:00:00+08:00", rec[9]),  # late, earlier
        _screening("p2", "340826103002", "2020-01-28T11:00:00+08:00", rec[4], event_id=dup),
        _screening("p3", "340826103002", "2020-01-28T11:00:00+08:00", rec[5], event_id=dup),
        _screening("p4", "340826103001", "2020-01-28T12:00:00+08:00", rec[4]),
    ]
    retraction = EventRecord(
        recorded_at=rec[6],
        source="test",
        event=EventRetracted.model_validate(
            {
                "event_id": str(uuid.uuid4()),
                "type": "event.retracted",
                "jurisdiction": "340826103001",
                "occurred_at": "2020-01-28T14:00:00+08:00",
                "data": {"target_event_id": str(records[4].event.event_id), "reason": "wrong person"},
            }
        ),
    )
    return [fold(r, r.to_json(), TopicPosition(0, i)) for i, r in enumerate([*records, retraction])]


def _load(engine: Chdb | Server, effects: list[Effects]) -> None:
    for migration in migrations():
        for statement in migration.statements:
            engine.execute(statement)

    def cols(row: Any) -> str:
        return ", ".join(vars(row))

    def vals(items: list[Any]) -> Rows:
        return [tuple(vars(i).values()) for i in items]

    archive = [e.archive for e in effects]
    engine.insert("events", cols(archive[0]) + ", archived_us", [(*v, 0) for v in vals(archive)])
    facts = [f for e in effects for f in e.facts]
    engine.insert("facts", cols(facts[0]), vals(facts))
    retr = [r for e in effects for r in e.retractions]
    engine.insert("retractions", cols(retr[0]), vals(retr))
    versions = engine.execute("SELECT event_id, recorded_us, content_hash FROM events")
    dups = superseded([(str(a), int(b), str(c)) for a, b, c in versions])
    engine.insert("event_duplicates", cols(dups[0]) + ", detected_us", [(*v, 0) for v in vals(dups)])
    engine.insert(
        "divisions",
        "code, name, level, parent",
        [
            ("340826103000", "许岭镇", "town", "340826000000"),
            ("340826103001", "许岭社区居委会", "village", "340826103000"),
            ("340826103002", "宏兴社区居委会", "village", "340826103000"),
        ],
    )


CASES = [
    # (code, day, as_of hour UTC on 01-28, expected new, cumulative)
    # p1's late event (occurred 01-27) makes p1 not new; p2 new; p3 superseded; p4 retracted
    ("340826103", date(2020, 1, 28), 23, 1, 2),
    ("340826103", date(2020, 1, 28), 5, 3, 3),  # before the late event and the retraction
    ("340826103", date(2020, 1, 27), 23, 1, 1),
    ("340826103001", date(2020, 1, 28), 23, 1, 1),
    ("340826103002", date(2020, 1, 28), 23, 1, 2),
    ("340826", date(2020, 1, 28), 2, 0, 0),  # nothing recorded yet
]


def _figures(engine: Chdb | Server) -> list[tuple[int, int]]:
    out = []
    for code, day, hour, _, _ in CASES:
        params = queries.figure_params(
            code.ljust(12, "0"),
            report_window(day, 24, ZONE),
            int(datetime(2020, 1, 28, hour, 59, tzinfo=UTC).timestamp() * 1_000_000),
        )
        new, cumulative = engine.execute(queries.SCREENED, params)[0]
        out.append((int(new), int(cumulative)))
    return out


def test_migrations_and_queries_agree_on_both_engines(server: Server, tmp_path: Path) -> None:
    effects = _effects()
    current = Chdb(tmp_path / "chdb")
    _load(current, effects)
    _load(server, effects)
    assert server.execute("SELECT version()")[0][0].startswith("18.")
    assert current.execute("SELECT version()")[0][0] >= "2"
    # p2's event (first version) stands; p3's conflicting resend never counts; p4 is retracted
    expected = [(n, c) for *_, n, c in CASES]
    assert _figures(server) == expected
    assert _figures(current) == expected
    for engine in (server, current):
        assert engine.execute(queries.DIVISION, {"code": "340826103000"}) == [
            ("340826103000", "许岭镇", "town", "340826000000")
        ]
        assert [r[0] for r in engine.execute(queries.CHILDREN, {"code": "340826103000"})] == [
            "340826103001",
            "340826103002",
        ]
