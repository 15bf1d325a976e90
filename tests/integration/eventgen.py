"""Hypothesis strategies for sets of accepted records (what ingest writes to
the topic) over one town and its villages, with duplicates, conflicting
resends, late events and retractions (also ones that arrive before their
target, and retractions of retractions)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from schemas.records import EventRecord
from services.common.figures import CATEGORIES, MODES, VENUE_TYPES

BASE = datetime(2020, 1, 27, 16, tzinfo=UTC)  # 2020-01-28 00:00 in Asia/Shanghai
DAYS = ("2020-01-27", "2020-01-28", "2020-01-29")
PERSONS = tuple(f"p{i}" for i in range(6))
VENUES = ("v1", "v2", "v3")


def _ts(dt: datetime) -> str:
    return dt.isoformat()


@st.composite
def _event(draw: st.DrawFn, villages: list[str]) -> tuple[dict[str, Any], datetime]:
    occurred = BASE + timedelta(minutes=30 * draw(st.integers(-60, 100)))
    recorded = occurred + timedelta(
        minutes=draw(st.integers(0, 60 * 40)), microseconds=draw(st.integers(0, 999))
    )
    where = draw(st.sampled_from(villages))
    kind = draw(
        st.sampled_from(
            [
                "screening.registered",
                "screening.registered",
                "symptom.reported",
                "isolation.started",
                "isolation.started",
                "isolation.ended",
                "case.classified",
                "venue.closed",
                "venue.reopened",
                "checkpoint.tally",
                "report.zero",
            ]
        )
    )
    base: dict[str, Any] = {
        "event_id": str(uuid.UUID(int=draw(st.integers(0, 2**64)))),
        "type": kind,
        "jurisdiction": where,
        "occurred_at": _ts(occurred),
    }
    person = {"id": draw(st.sampled_from(PERSONS))}
    if kind == "screening.registered":
        data: dict[str, Any] = {"category": draw(st.sampled_from(CATEGORIES))}
        origin = draw(st.sampled_from([None, "420100000000", "420500000000", "110000000000", "overseas:US"]))
        if origin:
            data["origin"] = origin
        base |= {"person": person, "data": data}
    elif kind == "symptom.reported":
        base |= {"person": person, "data": {"symptoms": ["fever"]}}
    elif kind == "isolation.started":
        base |= {
            "person": person,
            "data": {"mode": draw(st.sampled_from(MODES)), "planned_days": draw(st.sampled_from([1, 2, 14]))},
        }
    elif kind == "isolation.ended":
        base |= {"person": person, "data": {"reason": "completed"}}
    elif kind == "case.classified":
        base |= {
            "person": person,
            "data": {
                "status": draw(
                    st.sampled_from(["suspected", "confirmed", "excluded", "recovered", "deceased"])
                )
            },
        }
    elif kind in ("venue.closed", "venue.reopened"):
        base |= {
            "venue": {"id": draw(st.sampled_from(VENUES)), "type": draw(st.sampled_from(VENUE_TYPES[:3]))},
            "data": {},
        }
    elif kind == "checkpoint.tally":
        base |= {
            "data": {
                "checkpoint_id": draw(st.sampled_from(["c1", "c2"])),
                "people_checked": draw(st.integers(0, 50)),
                "vehicles_checked": draw(st.integers(0, 9)),
                "fevers_found": draw(st.integers(0, 3)),
                "turned_back": draw(st.integers(0, 3)),
            }
        }
    else:
        base |= {"data": {"report_date": draw(st.sampled_from(DAYS))}}
    return base, recorded


@st.composite
def record_sets(draw: st.DrawFn, villages: list[str]) -> list[EventRecord]:
    events = draw(st.lists(_event(villages), min_size=1, max_size=40))
    records = [(e, r) for e, r in events]
    # resends of the same event_id, later: identical (a retry) or conflicting
    for _ in range(draw(st.integers(0, 4))):
        e, r = draw(st.sampled_from(events))
        again = dict(e)
        if draw(st.booleans()):
            again["jurisdiction"] = draw(st.sampled_from(villages))
        records.append((again, r + timedelta(minutes=draw(st.integers(1, 600)))))
    # retractions: of known events (maybe recorded before their target), of unknown ids,
    # and of retractions (void)
    retractions: list[tuple[dict[str, Any], datetime]] = []
    for _ in range(draw(st.integers(0, 5))):
        pool = (
            [e["event_id"] for e, _ in events] + [e["event_id"] for e, _ in retractions] + [str(uuid.uuid4())]
        )
        target = draw(st.sampled_from(pool))
        when = BASE + timedelta(
            minutes=30 * draw(st.integers(-30, 120)), microseconds=draw(st.integers(0, 999))
        )
        retractions.append(
            (
                {
                    "event_id": str(uuid.UUID(int=draw(st.integers(0, 2**64)))),
                    "type": "event.retracted",
                    "jurisdiction": draw(st.sampled_from(villages)),
                    "occurred_at": _ts(when),
                    "data": {"target_event_id": target, "reason": "wrong"},
                },
                when,
            )
        )
    records += retractions
    return [
        EventRecord.model_validate({"recorded_at": at, "source": "gen", "event": e})
        for e, at in untied(records)
    ]


def untied(records: list[tuple[dict[str, Any], datetime]]) -> list[tuple[dict[str, Any], datetime]]:
    """Two versions of one event_id are never recorded in the same microsecond:
    ingest's stamps are strictly increasing per process and distinct across
    processes. A drawn tie is moved a microsecond later (the stores tell
    versions apart by (event_id, recorded_at): docs/design.md)."""
    taken: set[tuple[str, datetime]] = set()
    out = []
    for event, recorded in records:
        while (event["event_id"], recorded) in taken:
            recorded += timedelta(microseconds=1)
        taken.add((event["event_id"], recorded))
        out.append((event, recorded))
    return out


def relabel(
    records: list[EventRecord], villages_from: list[str], villages_to: list[str]
) -> list[EventRecord]:
    """The same records moved to other villages, with other event ids (consistently, so
    that duplicates and retraction targets still match)."""
    where = dict(zip(villages_from, villages_to, strict=True))
    ids: dict[str, str] = {}

    def new_id(old: str) -> str:
        return ids.setdefault(old, str(uuid.uuid5(uuid.NAMESPACE_URL, f"{villages_to[0]}:{old}")))

    out = []
    for rec in records:
        event = rec.event.model_dump(mode="json")
        event["event_id"] = new_id(event["event_id"])
        event["jurisdiction"] = where[event["jurisdiction"]]
        if event["type"] == "event.retracted":
            event["data"]["target_event_id"] = new_id(event["data"]["target_event_id"])
        out.append(
            EventRecord.model_validate({"recorded_at": rec.recorded_at, "source": rec.source, "event": event})
        )
    return out


def bulk_records(seed: int, villages: list[str], n: int) -> list[EventRecord]:
    """A larger, plain-random set of accepted records (for kill and restart tests):
    about 2% resends and 1% retractions among n records."""
    import random

    rng = random.Random(seed)
    persons = [f"bulk-{seed}-{i}" for i in range(max(10, n // 4))]
    out: list[EventRecord] = []
    ids: list[str] = []
    for _ in range(n):
        occurred = BASE + timedelta(minutes=rng.randint(-60 * 30, 60 * 50))
        recorded = occurred + timedelta(
            seconds=rng.randint(0, 40 * 3600), microseconds=rng.randint(0, 999_999)
        )
        eid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        where = rng.choice(villages)
        roll = rng.random()
        event: dict[str, Any] = {"event_id": eid, "jurisdiction": where, "occurred_at": _ts(occurred)}
        person = {"id": rng.choice(persons)}
        if roll < 0.02 and out:  # a resend: identical, later
            prior = rng.choice(out)
            out.append(
                EventRecord.model_validate(
                    {
                        "recorded_at": prior.recorded_at + timedelta(minutes=5),
                        "source": "bulk",
                        "event": prior.event.model_dump(mode="json"),
                    }
                )
            )
            continue
        if roll < 0.03 and ids:
            event |= {"type": "event.retracted", "data": {"target_event_id": rng.choice(ids), "reason": "x"}}
        elif roll < 0.45:
            event |= {
                "type": "screening.registered",
                "person": person,
                "data": {
                    "category": rng.choice(CATEGORIES),
                    "origin": rng.choice(["420100000000", "110000000000", "overseas:JP"]),
                },
            }
        elif roll < 0.6:
            event |= {
                "type": "isolation.started",
                "person": person,
                "data": {"mode": rng.choice(MODES), "planned_days": rng.choice([1, 14])},
            }
        elif roll < 0.7:
            event |= {"type": "isolation.ended", "person": person, "data": {"reason": "completed"}}
        elif roll < 0.8:
            event |= {
                "type": "case.classified",
                "person": person,
                "data": {"status": rng.choice(["suspected", "confirmed", "excluded", "recovered"])},
            }
        elif roll < 0.85:
            event |= {"type": "symptom.reported", "person": person, "data": {"symptoms": ["cough"]}}
        elif roll < 0.9:
            event |= {
                "type": rng.choice(["venue.closed", "venue.reopened"]),
                "venue": {"id": f"v{rng.randint(0, 30)}", "type": rng.choice(VENUE_TYPES)},
                "data": {},
            }
        elif roll < 0.95:
            event |= {
                "type": "checkpoint.tally",
                "data": {
                    "checkpoint_id": f"c{rng.randint(0, 5)}",
                    "people_checked": rng.randint(0, 500),
                    "vehicles_checked": rng.randint(0, 90),
                    "fevers_found": rng.randint(0, 3),
                    "turned_back": rng.randint(0, 9),
                },
            }
        else:
            event |= {"type": "report.zero", "data": {"report_date": rng.choice(DAYS)}}
        ids.append(eid)
        out.append(EventRecord.model_validate({"recorded_at": recorded, "source": "bulk", "event": event}))
    return out


def shifted(record: EventRecord, days: int) -> dict[str, Any]:
    """The event moved `days` later (occurred_at and a zero report's date)."""
    event = record.event.model_dump(mode="json")
    event["occurred_at"] = (record.event.occurred_at + timedelta(days=days)).isoformat()
    if event["type"] == "report.zero":
        event["data"]["report_date"] = (
            date.fromisoformat(event["data"]["report_date"]) + timedelta(days=days)
        ).isoformat()
    return event


def ingest_events(seed: int, villages: list[str], n: int, today: date) -> list[dict[str, Any]]:
    """`bulk_records` as a sender would post them to ingest: moved so that the
    last of DAYS is two days before `today` in the reporting timezone (ingest
    refuses future events and zero reports older than its window), without retractions of retractions
    (ingest refuses those within one request), and each occurred_at moved by
    up to a second, by event id, so that no two events of a subject tie in
    time (a tie is broken by recorded_at, which a retry changes)."""
    records = bulk_records(seed, villages, n)
    retractions = {r.event.event_id for r in records if r.event.type == "event.retracted"}
    shift = _shift(today)
    out = []
    for rec in records:
        if getattr(rec.event.data, "target_event_id", None) in retractions:
            continue
        event = shifted(rec, shift)
        jitter = timedelta(microseconds=uuid.UUID(event["event_id"]).int % 1_000_000)
        event["occurred_at"] = (datetime.fromisoformat(event["occurred_at"]) + jitter).isoformat()
        out.append(event)
    return out


def shifted_days(today: date) -> list[str]:
    """DAYS as `ingest_events` moved them."""
    shift = _shift(today)
    return [(date.fromisoformat(d) + timedelta(days=shift)).isoformat() for d in DAYS]


def _shift(today: date) -> int:
    # the latest bulk event occurs on the day after DAYS[-1], at 02:00
    return (today - date.fromisoformat(DAYS[-1])).days - 2
