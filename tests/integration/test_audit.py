"""Auditor replay on the real stack: the events behind a figure, the figures
recomputed from them alone, and every difference from what HQ is served;
published figures replay to the same numbers after later events; tampering
with the store is reported exactly (endpoint and `ribao replay`)."""

from __future__ import annotations

import subprocess
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest

from schemas.records import EventRecord
from services.common import reference
from services.common.counting import BUCKET_US, Model
from services.common.windows import report_window
from tests.integration.harness import Pipeline, poll, produce, wait_caught_up

VILLAGE = "341825100002"
MODEL = Model(("42", "4201"))
DAY = "2020-03-02"
ZONE = ZoneInfo("Asia/Shanghai")
T1 = datetime(2020, 3, 2, 10, tzinfo=UTC)  # the moment a figure was published


def rec(kind: str, recorded: datetime, event_id: str | None = None, **fields: Any) -> EventRecord:
    event = {
        "event_id": event_id or str(uuid.uuid4()),
        "type": kind,
        "jurisdiction": VILLAGE,
        "occurred_at": "2020-03-02T09:00:00+08:00",
        **fields,
    }
    return EventRecord.model_validate({"recorded_at": recorded, "source": "auditor-test", "event": event})


def screening(person: str, recorded: datetime, event_id: str | None = None) -> EventRecord:
    return rec(
        "screening.registered",
        recorded,
        event_id,
        person={"id": person},
        data={"category": "returnee", "origin": "420100000000"},
    )


@pytest.fixture(scope="module")
def published(pipeline: Pipeline) -> dict[str, Any]:
    """Events up to T1, the figures HQ saw at T1, then later events and a retraction."""
    dup = str(uuid.uuid4())
    first = [
        screening("a", T1 - timedelta(hours=3)),
        screening("b", T1 - timedelta(hours=2), event_id=dup),
        screening("c", T1 - timedelta(hours=1)),
    ]
    produce(pipeline.settings, first)
    wait_caught_up(pipeline)
    seen = pipeline.get("/v1/reports/daily", jurisdiction=VILLAGE, date=DAY, as_of=T1.isoformat()).json()
    later = [
        screening("z", T1 + timedelta(hours=1), event_id=dup),  # conflicting resend: never counts
        screening("d", T1 + timedelta(hours=2)),
        rec(
            "event.retracted",
            T1 + timedelta(hours=3),
            data={"target_event_id": str(first[0].event.event_id), "reason": "重复登记"},
        ),
    ]
    produce(pipeline.settings, later)
    wait_caught_up(pipeline)
    return {"seen": seen, "records": first + later}


def audit(p: Pipeline, **params: Any) -> dict[str, Any]:
    resp = p.get("/v1/audit/replay", jurisdiction=VILLAGE, date=DAY, **params)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def replay_cli(p: Pipeline, *args: str) -> subprocess.CompletedProcess[str]:
    return p.cli("replay", "--date", DAY, "--jurisdiction", VILLAGE, *args, timeout=300)


def test_replay_lists_the_events_and_agrees_with_the_served_figures(
    pipeline: Pipeline, published: dict[str, Any]
) -> None:
    body = audit(pipeline)
    assert body["differences"] == []
    assert body["figures"] == body["served_figures"]
    window = report_window(date.fromisoformat(DAY), 24, ZONE)
    now = datetime.now(UTC)
    assert body["figures"] == reference.daily_figures(published["records"], VILLAGE, window, now)
    assert body["total_events"] == 6 and body["retractions"] == 1 and body["duplicate_conflicts"] == 1
    events = body["events"]
    assert [e["recorded_at"] for e in events] == sorted(e["recorded_at"] for e in events)
    assert all(e["kafka"]["offset"] >= 0 and e["source"] == "auditor-test" for e in events)
    resend = [e for e in events if e.get("duplicate_of_earlier_version")]
    assert len(resend) == 1 and resend[0]["conflicting"] is True
    assert [e["retracts"] for e in events if e["type"] == "event.retracted"] == [
        str(published["records"][0].event.event_id)
    ]
    page = audit(pipeline, limit="2", offset="1")
    assert [e["event_id"] for e in page["events"]] == [e["event_id"] for e in events[1:3]]


def test_a_published_figure_replays_to_the_same_numbers(
    pipeline: Pipeline, published: dict[str, Any]
) -> None:
    seen = published["seen"]
    assert seen["figures"]["screened"]["cumulative"] == 3
    then = audit(pipeline, as_of=T1.isoformat())
    assert then["figures"] == seen["figures"] and then["differences"] == []
    assert then["total_events"] == 3  # nothing recorded after T1
    now = audit(pipeline)
    assert now["figures"]["screened"]["cumulative"] == 3  # a retracted, d added, z never counts


def test_ndjson_streams_every_event(pipeline: Pipeline, published: dict[str, Any]) -> None:
    resp = pipeline.get("/v1/audit/replay", jurisdiction=VILLAGE, date=DAY, format="ndjson")
    lines = [orjson.loads(line) for line in resp.content.splitlines()]
    assert lines[0]["total_events"] == len(lines) - 1 == 6


def test_tampering_is_reported_exactly(pipeline: Pipeline, published: dict[str, Any]) -> None:
    clean = replay_cli(pipeline)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "0 difference(s)" in clean.stdout
    # a forged count in the store: a person the events never registered (a delta
    # of the counted "screened" for the village, as if the aggregator had written it)
    forged = [
        (0, int(VILLAGE), MODEL.counter_id("screened"), 1583110800000000 // BUCKET_US, 0, 1583110800000000)
    ]
    ledger = "INSERT INTO counting_ledger (kind, place, counter, bucket, gap, t, delta) VALUES"
    pipeline.insert(ledger, [(*row, 1) for row in forged])
    # an archived event deleted
    victim = str(published["records"][3].event.event_id)  # d
    saved = pipeline.query("SELECT * FROM events WHERE event_id = %(id)s", {"id": victim})
    pipeline.query("ALTER TABLE events DELETE WHERE event_id = %(id)s", {"id": victim})
    poll(
        lambda: pipeline.query("SELECT count() FROM events WHERE event_id = %(id)s", {"id": victim}),
        lambda r: r[0][0] == 0,
        what="archived event deleted",
    )
    try:
        body = audit(pipeline)
        diffs = {d["figure"]: (d["served"], d["replayed"]) for d in body["differences"]}
        # served counts forged and d; the archive's replay has neither
        assert diffs["screened.cumulative"] == (4, 2)
        assert diffs["screened.new"] == (4, 2)
        out = replay_cli(pipeline)
        assert out.returncode == 1
        assert f"in the topic, not in the archive: {victim}" in out.stdout
        assert "figure screened.cumulative: served 4, replayed from the topic 3" in out.stdout
    finally:
        pipeline.insert(ledger, [(*row, -1) for row in forged])
        pipeline.insert("INSERT INTO events VALUES", [tuple(r) for r in saved])
    # restored: the replay agrees again
    poll(lambda: audit(pipeline)["differences"], lambda d: d == [], what="store restored")


def test_a_record_archived_twice_is_listed_once(pipeline: Pipeline, published: dict[str, Any]) -> None:
    """A batch folded again (after a rebalance or a kill, before its offsets
    were committed) archives its records a second time at the same topic
    position; until ClickHouse merges the copies, which it may never do, the
    audit lists, counts and pages each record once."""
    before = audit(pipeline)
    kept = ", ".join(row[0] for row in pipeline.query("DESCRIBE TABLE events") if row[0] != "archived_us")
    pipeline.query("SYSTEM STOP MERGES events")
    try:
        pipeline.query(
            f"INSERT INTO events ({kept}, archived_us) SELECT {kept}, archived_us + 1 FROM events "
            "WHERE jurisdiction = %(v)s OR type = 'event.retracted'",
            {"v": VILLAGE},
        )
        copies = pipeline.query(
            "SELECT count() - uniqExact(event_id, recorded_us, kafka_partition, kafka_offset) FROM events"
        )[0][0]
        assert copies >= 6  # the store holds the copies, unmerged
        after = audit(pipeline)
    finally:
        pipeline.query("SYSTEM START MERGES events")
    assert after["total_events"] == before["total_events"] == 6
    assert after["events"] == before["events"]
    assert after["retractions"] == 1 and after["duplicate_conflicts"] == 1
    assert after["figures"] == before["figures"] and after["differences"] == []
    page = audit(pipeline, limit="2", offset="2")
    assert [e["event_id"] for e in page["events"]] == [e["event_id"] for e in before["events"][2:4]]
    resp = pipeline.get("/v1/audit/replay", jurisdiction=VILLAGE, date=DAY, format="ndjson")
    assert len(resp.content.splitlines()) == 7
    clean = replay_cli(pipeline)
    assert clean.returncode == 0 and "0 difference(s)" in clean.stdout, clean.stdout + clean.stderr
