from __future__ import annotations

import uuid
from datetime import UTC, datetime

from schemas.events import CheckpointTally, EventRetracted, ScreeningRegistered
from schemas.records import EventRecord, to_micros
from services.aggregator.fold import DuplicateRow, TopicPosition, content_key, fold, id_key, superseded

REC = datetime(2020, 1, 28, 2, tzinfo=UTC)


def record(event: object) -> EventRecord:
    return EventRecord.model_validate({"recorded_at": REC, "source": "t", "event": event})


def screening(person: str = "p") -> dict[str, object]:
    return {
        "event_id": str(uuid.uuid4()),
        "type": "screening.registered",
        "jurisdiction": "340826103001",
        "occurred_at": "2020-01-28T10:00:00+08:00",
        "person": {"id": person},
        "data": {"category": "overseas", "origin": "overseas:US"},
    }


def test_screening_yields_one_fact_and_its_archive_row() -> None:
    rec = record(screening())
    eff = fold(rec, rec.to_json(), TopicPosition(3, 42))
    assert isinstance(rec.event, ScreeningRegistered)
    (fact,) = eff.facts
    assert fact.kind == "screening.registered" and fact.subject == "p" and fact.attr == "overseas"
    assert fact.origin == "overseas:US" and fact.recorded_us == to_micros(REC)
    assert fact.occurred_us == to_micros(datetime(2020, 1, 28, 2, tzinfo=UTC))
    assert eff.archive.kafka_partition == 3 and eff.archive.kafka_offset == 42
    assert eff.archive.record == rec.to_json().decode()
    assert eff.retractions == ()


def test_fold_is_deterministic() -> None:
    rec = record(screening())
    assert fold(rec, rec.to_json(), TopicPosition(0, 1)) == fold(rec, rec.to_json(), TopicPosition(0, 1))


def test_retraction_yields_a_retraction_row_only() -> None:
    target = str(uuid.uuid4())
    rec = record(
        {
            "event_id": str(uuid.uuid4()),
            "type": "event.retracted",
            "jurisdiction": "340826",
            "occurred_at": "2020-01-28T10:00:00+08:00",
            "data": {"target_event_id": target, "reason": "typo"},
        }
    )
    assert isinstance(rec.event, EventRetracted)
    eff = fold(rec, rec.to_json(), TopicPosition(0, 0))
    assert eff.facts == ()
    assert [(r.target_event_id, r.reason) for r in eff.retractions] == [(target, "typo")]


def test_checkpoint_subject_is_the_checkpoint() -> None:
    rec = record(
        {
            "event_id": str(uuid.uuid4()),
            "type": "checkpoint.tally",
            "jurisdiction": "340826",
            "occurred_at": "2020-01-28T10:00:00+08:00",
            "data": {
                "checkpoint_id": "G105-1",
                "people_checked": 5,
                "vehicles_checked": 2,
                "fevers_found": 0,
                "turned_back": 1,
            },
        }
    )
    assert isinstance(rec.event, CheckpointTally)
    assert fold(rec, rec.to_json(), TopicPosition(0, 0)).archive.subject == "G105-1"


def test_content_hash_ignores_when_and_who() -> None:
    event = screening()
    a = EventRecord.model_validate({"recorded_at": REC, "source": "a", "event": event})
    b = EventRecord.model_validate(
        {"recorded_at": datetime(2021, 1, 1, tzinfo=UTC), "source": "b", "event": event}
    )
    c = EventRecord.model_validate({"recorded_at": REC, "source": "a", "event": screening("q")})
    assert a.content_hash() == b.content_hash() != c.content_hash()


def test_superseded_keeps_the_earliest_version() -> None:
    rows = superseded(
        [("e1", 20, "h2"), ("e1", 10, "h1"), ("e1", 30, "h1"), ("e2", 5, "h"), ("e1", 10, "h1")]
    )
    assert rows == [
        DuplicateRow("e1", 20, "h2", 10, "h1", 1),
        DuplicateRow("e1", 30, "h1", 10, "h1", 0),
    ]


def test_superseded_breaks_recorded_ties_by_hash_and_ignores_order() -> None:
    versions = [("e", 10, "b"), ("e", 10, "a")]
    assert superseded(versions) == superseded(list(reversed(versions)))
    assert superseded(versions) == [DuplicateRow("e", 10, "b", 10, "a", 1)]


def test_every_type_yields_its_fact_rows() -> None:
    base = {"jurisdiction": "340826103001", "occurred_at": "2020-01-28T10:00:00+08:00"}
    cases: list[tuple[dict[str, object], list[tuple[str, str, int]]]] = [
        ({"type": "symptom.reported", "person": {"id": "p"}, "data": {"symptoms": ["fever"]}}, [("", "", 0)]),
        (
            {"type": "isolation.started", "person": {"id": "p"}, "data": {"mode": "home", "planned_days": 7}},
            [("home", "", 7)],
        ),
        (
            {"type": "isolation.ended", "person": {"id": "p"}, "data": {"reason": "completed"}},
            [("completed", "", 0)],
        ),
        (
            {"type": "case.classified", "person": {"id": "p"}, "data": {"status": "confirmed"}},
            [("confirmed", "", 0)],
        ),
        ({"type": "venue.closed", "venue": {"id": "m1", "type": "market"}}, [("market", "", 0)]),
        ({"type": "report.zero", "data": {"report_date": "2020-01-27"}}, [("2020-01-27", "", 0)]),
        (
            {
                "type": "checkpoint.tally",
                "data": {
                    "checkpoint_id": "c",
                    "people_checked": 9,
                    "vehicles_checked": 8,
                    "fevers_found": 7,
                    "turned_back": 6,
                },
            },
            [
                ("people_checked", "", 9),
                ("vehicles_checked", "", 8),
                ("fevers_found", "", 7),
                ("turned_back", "", 6),
            ],
        ),
    ]
    for fields, rows in cases:
        rec = record({"event_id": str(uuid.uuid4()), **base, **fields})
        eff = fold(rec, rec.to_json(), TopicPosition(0, 0))
        assert [(f.attr, f.origin, f.value) for f in eff.facts] == rows, fields["type"]
        assert all(f.kind == fields["type"] for f in eff.facts)
    venue = record(
        {
            "event_id": str(uuid.uuid4()),
            **base,
            "type": "venue.reopened",
            "venue": {"id": "m1", "type": "market"},
        }
    )
    assert fold(venue, venue.to_json(), TopicPosition(0, 0)).facts[0].subject == "340826103001/m1"


def test_version_keys_are_clickhouses_md5_and_hex_prefixes() -> None:
    # values computed by ClickHouse 18.16 and chdb: reinterpretAsUInt64(MD5('a')),
    # reinterpretAsUInt64(unhex(substring(h, 1, 16)))
    assert id_key("a") == 12157170054180749580
    assert id_key("3f0c2c1e-6a1b-4c7e-9d0e-1234567890ab") == 1912809353285660056
    h = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    assert content_key(h) == 7313085519096743583
