from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.events import ScreeningRegistered
from schemas.records import EventRecord, to_micros
from services.api import replay_figures

T0 = datetime(2020, 1, 28, tzinfo=UTC)


def row(subject: str, i: int, kind: str = "screening.registered") -> tuple[str, str, int, str]:
    event: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "type": kind,
        "jurisdiction": "340826103001",
        "occurred_at": "2020-01-28T10:00:00+08:00",
    }
    if kind == "report.zero":
        event["data"] = {"report_date": "2020-01-28"}
    else:
        event |= {"person": {"id": subject}, "data": {"category": "other"}}
    rec = EventRecord.model_validate(
        {"recorded_at": T0 + timedelta(seconds=i), "source": "t", "event": event}
    )
    return subject, str(rec.event.event_id), to_micros(rec.recorded_at), rec.to_json().decode()


def test_chunks_never_split_a_subject_and_drop_superseded_versions(monkeypatch: Any) -> None:
    monkeypatch.setattr(replay_figures, "CHUNK", 3)
    rows = [
        row("a", 0),
        row("a", 1),
        row("b", 2),
        row("b", 3),
        row("b", 4),
        row("c", 5),
        row("", 6, "report.zero"),
        row("", 7, "report.zero"),
        row("", 8, "report.zero"),
        row("", 9, "report.zero"),
        row("", 10, "report.zero"),
    ]
    superseded = {(rows[1][1], rows[1][2])}
    chunks = [
        [EventRecord.from_json(raw.encode()) for _id, raw in c]
        for c in replay_figures._chunks(iter(rows), superseded)
    ]
    subjects = [
        [r.event.person.id if isinstance(r.event, ScreeningRegistered) else None for r in c] for c in chunks
    ]
    assert subjects == [["a", "b", "b", "b"], ["c", None, None], [None, None, None]]
    assert sum(len(c) for c in chunks) == len(rows) - 1
