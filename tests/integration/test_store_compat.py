"""Every migration and every query runs on both engines: the old ClickHouse
server these machines install (18.16) and the current engine (chdb, in
process), and both give the same answers on the same rows."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from clickhouse_driver.context import Context
from clickhouse_driver.util.escape import escape_params

from schemas import codes
from schemas.records import EventRecord
from services.aggregator.contributions import counting_subject
from services.aggregator.counting_state import CountingState, version_of
from services.aggregator.counting_store import (
    FACTS_SQL,
    INTENTS_SQL,
    LEDGER_COLUMNS,
    MEMBERS_SQL,
    RETRACTIONS_SQL,
    SNAPSHOTS_SQL,
    SUPERSEDED_SQL,
)
from services.aggregator.fold import TopicPosition, fold, id_key, superseded
from services.aggregator.store import (
    CANDIDATES_SQL,
    RETRACTION_RECORDS_SQL,
    SUBJECT_FACT_COLUMNS,
    TARGETS_SQL,
    VERSIONS_SQL,
)
from services.api import divisions, replay, reporting_sql
from services.api.daily import MISSING, DailyQuery
from services.api.replay_figures import archive_params
from services.api.zero import STATUSES, zero_report
from services.common import reference, replica_sync
from services.common.clickhouse import client, migrations
from services.common.config import CommonSettings
from services.common.counting import Model
from services.common.windows import report_window
from services.ingest.archive import FIRST_SQL, KEYS_SQL
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

    def close(self) -> None:
        """Ends the embedded server: chdb keeps one per process, with one
        path, so a test that leaves it open refuses every later path."""
        self._s.close()


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


def fanned(
    rows: dict[tuple[int, tuple[str, int, int, int]], int],
) -> list[tuple[int, int, int, int, int, int, int]]:
    """Rows of every code as ledger rows (t, place, counter, bucket, x, delta,
    fan): the codes that share a change and are a place and all its ancestors
    as one row with fan 1, any other as one row with fan 0."""
    by_change: dict[tuple[int, int, int, int, int], set[str]] = {}
    for (t, (code, c, b, x)), d in rows.items():
        by_change.setdefault((t, c, b, x, d), set()).add(code)
    out = []
    for (t, c, b, x, d), where in sorted(by_change.items()):
        leaf = max(where, key=lambda code: len(codes.significant(code)))
        if set(codes.ancestors(leaf)) == where:
            out.append((t, int(leaf), c, b, x, d, 1))
        else:
            out.extend((t, int(code), c, b, x, d, 0) for code in sorted(where))
    return out


def _rec(
    kind: str, where: str, occurred: str, recorded_hour: float, event_id: str | None = None, **fields: Any
) -> EventRecord:
    event = {
        "event_id": event_id or str(uuid.uuid4()),
        "type": kind,
        "jurisdiction": where,
        "occurred_at": occurred,
        **fields,
    }
    return EventRecord.model_validate(
        {
            "recorded_at": datetime(2020, 1, 28, tzinfo=UTC) + timedelta(hours=recorded_hour),
            "source": "test",
            "event": event,
        }
    )


V1, V2 = "340826103001", "340826103002"
V3 = "340826104001"  # in another town


def _records() -> list[EventRecord]:
    dup = str(uuid.uuid4())
    retracted = str(uuid.uuid4())
    first_retracted = str(uuid.uuid4())
    out = [
        # V2's earliest submission for the 28th, retracted an hour later: its
        # first submission is then its next event's
        _rec(
            "symptom.reported",
            V2,
            "2020-01-28T07:00:00+08:00",
            0,
            event_id=first_retracted,
            person={"id": "p5"},
            data={"symptoms": ["cough"]},
        ),
        _rec(
            "event.retracted",
            V2,
            "2020-01-28T07:30:00+08:00",
            1,
            data={"target_event_id": first_retracted, "reason": "entered twice"},
        ),
        _rec(
            "screening.registered",
            V1,
            "2020-01-28T10:00:00+08:00",
            3,
            person={"id": "p1"},
            data={"category": "returnee", "origin": "420100000000"},
        ),
        _rec(
            "screening.registered",
            V2,
            "2020-01-27T10:00:00+08:00",
            9,
            person={"id": "p1"},
            data={"category": "close_contact"},
        ),  # late, and earlier
        _rec(
            "screening.registered",
            V2,
            "2020-01-28T11:00:00+08:00",
            4,
            event_id=dup,
            person={"id": "p2"},
            data={"category": "overseas", "origin": "overseas:US"},
        ),
        _rec(
            "screening.registered",
            V2,
            "2020-01-28T11:00:00+08:00",
            5,
            event_id=dup,
            person={"id": "p3"},
            data={"category": "overseas"},
        ),  # conflicting resend
        _rec(
            "screening.registered",
            V1,
            "2020-01-28T12:00:00+08:00",
            4,
            event_id=retracted,
            person={"id": "p4"},
            data={"category": "other"},
        ),
        _rec(
            "event.retracted",
            V1,
            "2020-01-28T14:00:00+08:00",
            6,
            data={"target_event_id": retracted, "reason": "wrong person"},
        ),
        _rec(
            "symptom.reported",
            V1,
            "2020-01-28T09:00:00+08:00",
            2,
            person={"id": "p1"},
            data={"symptoms": ["fever", "cough"]},
        ),
        _rec(
            "isolation.started",
            V1,
            "2020-01-20T09:00:00+08:00",
            2,
            person={"id": "p1"},
            data={"mode": "home", "planned_days": 7},
        ),  # overdue by the 28th
        _rec(
            "isolation.started",
            V2,
            "2020-01-28T09:00:00+08:00",
            2,
            person={"id": "p2"},
            data={"mode": "centralized"},
        ),
        _rec(
            "isolation.ended",
            V2,
            "2020-01-28T20:00:00+08:00",
            7,
            person={"id": "p2"},
            data={"reason": "transferred"},
        ),
        _rec(
            "case.classified",
            V1,
            "2020-01-28T10:00:00+08:00",
            3,
            person={"id": "p1"},
            data={"status": "suspected"},
        ),
        _rec(
            "case.classified",
            V2,
            "2020-01-28T15:00:00+08:00",
            3,
            person={"id": "p2"},
            data={"status": "confirmed"},
        ),
        _rec(
            "venue.closed", V1, "2020-01-28T08:00:00+08:00", 1, venue={"id": "m1", "type": "market"}, data={}
        ),
        _rec(
            "venue.closed", V2, "2020-01-28T08:00:00+08:00", 1, venue={"id": "m1", "type": "school"}, data={}
        ),
        _rec(
            "venue.reopened",
            V2,
            "2020-01-28T18:30:00+08:00",
            1,
            venue={"id": "m1", "type": "school"},
            data={},
        ),
        _rec(
            "checkpoint.tally",
            V1,
            "2020-01-28T12:00:00+08:00",
            5,
            data={
                "checkpoint_id": "G1",
                "people_checked": 120,
                "vehicles_checked": 40,
                "fevers_found": 2,
                "turned_back": 3,
            },
        ),
        _rec(
            "report.zero", "340826103200", "2020-01-28T20:00:00+08:00", 13, data={"report_date": "2020-01-28"}
        ),
        # a town's zero report, contradicted by its village's event (unlike 103200's,
        # which its sibling villages' events do not contradict)
        _rec(
            "report.zero", "340826104000", "2020-01-28T20:00:00+08:00", 13, data={"report_date": "2020-01-28"}
        ),
        _rec(
            "symptom.reported",
            V3,
            "2020-01-28T21:00:00+08:00",
            14,
            person={"id": "p9"},
            data={"symptoms": ["fever"]},
        ),
        # two events of the 27th stamped 13:15 and 13:30: as of 13:59 more
        # stamps lie before it in its hour than after (14:00), so the read
        # takes the side after, and the contradiction check takes the
        # contradicting event's exact row off again (LATER_SQL)
        *(
            _rec(
                "symptom.reported",
                V3,
                "2020-01-27T21:30:00+08:00",
                hour,
                person={"id": f"p1{i}"},
                data={"symptoms": ["cough"]},
            )
            for i, hour in enumerate((13.25, 13.5))
        ),
    ]
    return out


def _load(engine: Chdb | Server, records: list[EventRecord]) -> None:
    for migration in migrations():
        for statement in migration.statements:
            engine.execute(statement)
    effects = [fold(r, r.to_json(), TopicPosition(0, i)) for i, r in enumerate(records)]

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
    # the counting (migration 011): subject_facts, and the ledger rows the
    # counting agent writes (here from the in-memory state), filed by the views
    counted = [(key, f) for f in facts if (key := counting_subject(f)) is not None]
    engine.insert(
        "subject_facts",
        SUBJECT_FACT_COLUMNS,
        [(key, *(getattr(f, n) for n in SUBJECT_FACT_COLUMNS.split(", ")[1:])) for key, f in counted],
    )
    state = CountingState(Model(("42", "4201")))
    deltas = state.apply(version_of(e) for e in effects)
    # most rows as one row for a place and its ancestors (fan 1, migration 020),
    # the rest one row a code, so both kinds go through the views
    assert {row[-1] for row in fanned(deltas)} == {0, 1}
    engine.insert(
        "counting_ledger",
        ", ".join(LEDGER_COLUMNS),
        [(0, place, c, b, g, t, d, "", 0, [], [], [], 0, fan) for t, place, c, b, g, d, fan in fanned(deltas)]
        + [
            (2, place, c, b, 0, t, d, "", 0, [], [], [], r, fan)
            for t, place, c, b, r, d, fan in fanned(state.submitted)
        ]
        + [(1, 0, 0, 0, 0, 0, 0, "p:p1", 3, ["a", "b"], [1, 2], [0, 5], 0, 0)],
    )
    # intents (migration 017): p:p1's newest is ahead of its snapshot
    engine.insert(
        "counting_intents",
        "subject, seq, insert_id, event_ids, since, until",
        [
            ("p:p1", 3, 76, ["a", "b"], [1, 2], [0, 5]),
            ("p:p1", 4, 77, ["a"], [1], [0]),
            ("p:p2", 2, 77, [], [], []),
        ],
    )
    engine.insert(
        "divisions",
        "code, name, level, parent",
        [
            ("340826103000", "许岭镇", "town", "340826000000"),
            ("340826103001", "许岭社区居委会", "village", "340826103000"),
            ("340826103002", "宏兴社区居委会", "village", "340826103000"),
            ("340826104000", "下仓镇", "town", "340826000000"),
            (V3, "下仓埠社区居委会", "village", "340826104000"),
        ],
    )


class _Runner:
    """What DailyQuery needs (`query`, callable from two threads at once: one
    connection here, so one query at a time) over either engine."""

    def __init__(self, engine: Chdb | Server) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        #: every SQL text run, to check that the cases reach each read
        self.ran: set[str] = set()

    def query(self, sql: str, params: dict[str, Any] | None = None) -> Rows:
        with self._lock:
            self.ran.add(sql)
            return self._engine.execute(sql, params)


CASES = [
    (code, day, cutoff, hour)
    for code in ("340826103000", "340826000000")
    for day in (date(2020, 1, 27), date(2020, 1, 28))
    for cutoff in (24, 18)
    # 13:59: the zero reports (stamped 13:00) stand, and the event that
    # contradicts the town's (14:00) is in the hour after as_of, the side the
    # read takes (more stamps before as_of in its hour), so the contradiction
    # check reads the exact rows of that side (LATER_SQL)
    for hour in (5, 13, 23)
]
#: the codes a case reads at once, those in its subtree: the county, its
#: towns and villages (a report reads its own code and its children's in one
#: set of queries; here three levels at once), 340826103200 with events but
#: not in the registry
GROUPS = ("340826000000", "340826103000", "340826103001", "340826103002", "340826103200", "340826104000", V3)


def _figures(engine: Chdb | Server) -> list[Any]:
    runner = _Runner(engine)
    query = DailyQuery(runner, ("42", "4201"))
    out = []
    for code, day, cutoff, hour in CASES:
        window = report_window(day, cutoff, ZONE)
        as_of = datetime(2020, 1, 28, hour, 59, tzinfo=UTC)
        group_codes = [c for c in GROUPS if codes.is_within(c, code)]
        figures, reporting = query.run(
            code, group_codes, window, as_of, day.isoformat(), window.end + timedelta(hours=2)
        )
        assert set(figures) == set(group_codes)
        out.append((code, day, cutoff, hour, figures, reporting))
    assert reporting_sql.LATER_SQL in runner.ran, "no case read the exact rows of the contradiction check"
    return out


def _zero_reports_equal_the_reference(engine: Chdb | Server, records: list[EventRecord]) -> None:
    """Every unit's 零报告 status and submission time, the counts and the
    contradicted units, as reference.reporting_status gives them for each unit."""
    seen: Counter[str] = Counter()
    contradictions = 0
    levels: tuple[tuple[str, codes.Level], ...] = (("340826103000", "village"), ("340826000000", "town"))
    for code, level in levels:
        for _code, day, cutoff, hour in CASES:
            window = report_window(day, cutoff, ZONE)
            as_of = datetime(2020, 1, 28, hour, 59, tzinfo=UTC)
            deadline = window.end + timedelta(hours=2)
            z = zero_report(_Runner(engine), code, level, day, window, deadline, as_of, STATUSES, 100, 0)
            where = (code, level, day, cutoff, hour)
            assert z.expected == z.total == len(z.units) > 0, where
            refs = {
                u.code: reference.reporting_status(records, u.code, day, window, deadline, as_of)
                for u in z.units
            }
            for u in z.units:
                assert (u.status, u.submitted_at) == (refs[u.code].status, refs[u.code].submitted_at), (
                    where,
                    u,
                )
            assert z.counts == {s: sum(r.status == s for r in refs.values()) for s in z.counts}, where
            contradicted = sum(r.zero_report_contradicted for r in refs.values())
            assert z.zero_report_contradicted == contradicted, where
            seen.update(r.status for r in refs.values())
            contradictions += contradicted
    assert set(seen) == set(STATUSES) and contradictions, (
        "the cases exercise every status and a contradiction"
    )


def test_migrations_and_queries_agree_on_both_engines(server: Server, tmp_path: Path) -> None:
    records = _records()
    current = Chdb(tmp_path / "chdb")
    _load(current, records)
    _load(server, records)
    assert server.execute("SELECT version()")[0][0].startswith("18.")
    assert current.execute("SELECT version()")[0][0] >= "2"
    old, new = _figures(server), _figures(current)
    assert old == new
    # and both are the reference implementation's figures and statuses, for every code read
    for code, day, cutoff, hour, figures, reporting in old:
        window = report_window(day, cutoff, ZONE)
        as_of = datetime(2020, 1, 28, hour, 59, tzinfo=UTC)
        deadline = window.end + timedelta(hours=2)
        for unit, got in figures.items():
            want = reference.daily_figures(records, unit, window, as_of)
            assert got == want, (code, unit, day, cutoff, hour)
            ref = reference.reporting_status(records, unit, day, window, deadline, as_of)
            r = reporting.get(unit, MISSING)
            assert (r.status, r.submitted_at, r.zero_report_contradicted) == (
                ref.status,
                ref.submitted_at,
                ref.zero_report_contradicted,
            ), (code, unit, day, cutoff, hour)
    flags = {
        (code, unit): r.zero_report_contradicted
        for code, day, cutoff, hour, _f, reps in old
        for unit, r in reps.items()
        if (day, cutoff, hour) == (date(2020, 1, 28), 24, 23)
    }
    # the town's own zero report, contradicted by its village: the town and the county;
    # 103200's, not contradicted by its siblings: neither it nor its town
    assert flags[("340826000000", "340826104000")] and flags[("340826000000", "340826000000")]
    assert not flags[("340826000000", "340826103000")]
    assert not flags[("340826103000", "340826103200")] and not flags[("340826103000", "340826103000")]
    # 零报告: the same counts and pages on both engines
    window = report_window(date(2020, 1, 28), 24, ZONE)
    for statuses in (("missing", "late"), ("reported", "zero_reported", "late", "missing")):
        answers = [
            zero_report(
                _Runner(engine),
                "340826103000",
                "village",
                date(2020, 1, 28),
                window,
                window.end + timedelta(hours=2),
                datetime(2020, 1, 29, tzinfo=UTC),
                statuses,
                2,
                0,
            )
            for engine in (server, current)
        ]
        assert answers[0] == answers[1]
        assert answers[0].expected == 2 and len(answers[0].units) <= 2
    # and both are the reference's statuses for every unit, at both levels, for every case
    for engine in (server, current):
        _zero_reports_equal_the_reference(engine, records)
    # the counting agent's reads (their external tables as literal sets here)
    ids = tuple(str(r.event.event_id) for r in records)
    for sql, name, values in (
        (FACTS_SQL, "wanted", ("p:p1", "p:p2", "v:340826103001/m1")),
        (SNAPSHOTS_SQL, "wanted", ("p:p1",)),
        (INTENTS_SQL, "wanted", ("p:p1", "p:p2", "p:p3")),
        (RETRACTIONS_SQL, "ids", ids),
        (SUPERSEDED_SQL, "ids", ids),
        (TARGETS_SQL, "targets", ids),
        # the aggregator's version check, second and third steps
        (VERSIONS_SQL, "batch_ids", ids),
        (RETRACTION_RECORDS_SQL, "retracted", ids),
    ):
        literal = sql.replace(f"IN {name}", f"IN %({name})s")
        found = [sorted(engine.execute(literal, {name: values})) for engine in (server, current)]
        assert found[0] == found[1], sql
    assert server.execute(SNAPSHOTS_SQL.replace("IN wanted", "IN ('p:p1')")) == [
        ("p:p1", 3, ["a", "b"], [1, 2], [0, 5])
    ]
    assert sorted(server.execute(INTENTS_SQL.replace("IN wanted", "IN ('p:p1', 'p:p2')"))) == [
        ("p:p1", 4, 77),
        ("p:p2", 2, 77),
    ]
    members = [sorted(engine.execute(MEMBERS_SQL, {"insert_id": 77})) for engine in (server, current)]
    assert members[0] == members[1] == [("p:p1", 4, ["a"], [1], [0]), ("p:p2", 2, [], [], [])]
    towns = [
        zero_report(
            _Runner(engine),
            "340826000000",
            "town",
            date(2020, 1, 28),
            window,
            window.end + timedelta(hours=2),
            datetime(2020, 1, 29, tzinfo=UTC),
            ("reported", "zero_reported", "late", "missing"),
            10,
            0,
        )
        for engine in (server, current)
    ]
    assert towns[0] == towns[1]
    assert towns[0].expected == 2 and towns[0].zero_report_contradicted == 1
    nonzero = [f for *_, d, figs, _ in old for f in figs.values() if f["checkpoints"]["people_checked"]]
    assert nonzero, "the cases exercise the figures"
    for engine in (server, current):
        assert engine.execute(divisions.DIVISION, {"code": "340826103000"}) == [
            ("340826103000", "许岭镇", "town", "340826000000")
        ]
        lo, hi = codes.subtree_range("340826103000")
        children = engine.execute(divisions.CHILDREN, {"code": "340826103000", "lo": lo, "hi": hi})
        assert [r[0] for r in children] == ["340826103001", "340826103002"]
        # the cluster's replica wait (services/common/replica_sync.py): no
        # replicated table here, so nothing to wait for, on either engine
        for every in (0, 1):
            which = {"every": every, "tables": ("events_local",)}
            assert engine.execute(replica_sync.REPLICAS_SQL, which) == []
            assert engine.execute(replica_sync.FETCHES_SQL, {**which, "until": 2**31}) == []
        assert engine.execute(replica_sync.SERVERS_SQL, {"cluster": "ribao"}) == []
    # the auditor's archive reads, before and after every record is archived a
    # second time (a batch folded again): the same rows, each record once
    params = archive_params("340826000000", window, datetime(2020, 1, 29, tzinfo=UTC))
    listed = [engine.execute(replay.EVENTS_SQL, params) for engine in (server, current)]
    assert listed[0] == listed[1] and len(listed[0]) >= 5
    for engine in (server, current):
        kept = ", ".join(row[0] for row in engine.execute("DESCRIBE TABLE events") if row[0] != "archived_us")
        engine.execute(f"INSERT INTO events ({kept}, archived_us) SELECT {kept}, 1 FROM events")
        assert engine.execute(replay.EVENTS_SQL, params) == listed[0]
        assert engine.execute(replay.COUNTS_SQL, params)[0][0] == len(listed[0])


def test_version_index_backfill_and_check_agree_on_both_engines(tmp_path: Path) -> None:
    """Migration 009's backfill computes the keys the aggregator computes, and
    the version check's first step finds exactly the ids with several versions."""
    records = _records()
    current = Chdb(tmp_path / "chdb")
    effects = [fold(r, r.to_json(), TopicPosition(0, i)) for i, r in enumerate(records)]
    want_rows = sorted({(v.id_key, v.recorded_us, v.content_key) for v in (e.version for e in effects)})
    ids: dict[str, set[tuple[int, str]]] = {}
    for e in effects:
        ids.setdefault(e.archive.event_id, set()).add((e.archive.recorded_us, e.archive.content_hash))
    want_candidates = sorted(id_key(i) for i, versions in ids.items() if len(versions) > 1)
    assert want_candidates, "the records hold resent events"
    backfill = next(m for m in migrations() if m.version == 9).statements[-1]
    base = CommonSettings()
    require_services(base)
    settings = base.model_copy(update={"clickhouse_database": f"ribao_compat_{uuid.uuid4().hex[:8]}"})
    client(settings, database="default").execute(f"CREATE DATABASE {settings.clickhouse_database}")
    try:
        for engine in (Server(settings), current):
            _check_version_index(engine, records, backfill, want_rows, want_candidates)
    finally:
        client(settings, database="default").execute(f"DROP DATABASE {settings.clickhouse_database}")


def _check_version_index(
    engine: Chdb | Server, records: list[EventRecord], backfill: str, want_rows: Rows, want: list[int]
) -> None:
    check = CANDIDATES_SQL.replace("IN batch_keys", "IN %(keys)s")
    keys = tuple(sorted({id_key(str(r.event.event_id)) for r in records}))
    _load(engine, records)  # the migration ran on an empty archive
    assert engine.execute("SELECT count() FROM event_versions")[0][0] == 0
    engine.execute(backfill)
    assert sorted(engine.execute("SELECT * FROM event_versions")) == want_rows
    got = engine.execute(check, {"keys": keys})
    assert sorted(int(k) for (k,) in got) == want


def test_ingest_archive_lookup_agrees_on_both_engines(tmp_path: Path) -> None:
    """Ingest's look-up of a request's ids (services/ingest/archive.py) finds
    the same first versions on both engines, the ones the aggregator keeps."""
    records = _records()
    effects = [fold(r, r.to_json(), TopicPosition(0, i)) for i, r in enumerate(records)]
    versions = [(e.archive.event_id, e.archive.recorded_us, e.archive.content_hash) for e in effects]
    later = {(d.event_id, d.recorded_us, d.content_hash) for d in superseded(versions)}
    want = sorted(
        (eid, rec, chash, e.archive.type, e.archive.jurisdiction)
        for e, (eid, rec, chash) in zip(effects, versions, strict=True)
        if (eid, rec, chash) not in later
    )
    assert len(want) < len(records), "the records hold a resent event"
    ids = tuple(sorted({v[0] for v in versions} | {str(uuid.uuid4())}))
    keys_sql = KEYS_SQL.replace("IN request_keys", "IN %(keys)s")
    first_sql = FIRST_SQL.replace("IN request_ids", "IN %(ids)s")
    base = CommonSettings()
    require_services(base)
    settings = base.model_copy(update={"clickhouse_database": f"ribao_compat_{uuid.uuid4().hex[:8]}"})
    client(settings, database="default").execute(f"CREATE DATABASE {settings.clickhouse_database}")
    try:
        for engine in (Server(settings), Chdb(tmp_path / "chdb")):
            _load(engine, records)
            version_rows = [(v.id_key, v.recorded_us, v.content_key) for v in (e.version for e in effects)]
            engine.insert("event_versions", "id_key, recorded_us, content_key", version_rows)
            found = engine.execute(keys_sql, {"keys": tuple(id_key(i) for i in ids)})
            assert sorted(int(k) for (k,) in found) == sorted({id_key(v[0]) for v in versions})
            got = sorted(tuple(r) for r in engine.execute(first_sql, {"ids": ids}))
            assert [(str(a), int(b), str(c), str(d), str(e)) for a, b, c, d, e in got] == want
    finally:
        client(settings, database="default").execute(f"DROP DATABASE {settings.clickhouse_database}")
