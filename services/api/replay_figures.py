"""The replay's recomputation, in bounded memory: J's events stream from the
archive ordered by subject and go to the reference implementation a chunk of
whole subjects at a time. Every person, venue and checkpoint figure is a sum
over subjects, so the chunks' figures add up; the reporting status keeps the
earliest submission and two flags. What crosses subjects is read first and is
small: which versions of a resent event are superseded (decided from the
archive's versions alone) and the retractions of J's events."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from schemas import codes
from schemas.records import EventRecord, from_micros, to_micros
from services.api.store import ReadStore
from services.common import reference
from services.common.figures import Figures, empty_figures
from services.common.windows import Window

#: J's events (not retractions) that can matter for D, recorded by T
_MINE = """
    jurisdiction >= %(lo)s AND jurisdiction <= %(hi)s AND recorded_us <= %(as_of)s
    AND type != 'event.retracted' AND (occurred_us < %(end)s OR type = 'report.zero')"""

RETRACTIONS_SQL = f"""
SELECT record FROM events
WHERE type = 'event.retracted' AND recorded_us <= %(as_of)s
  AND event_id IN (SELECT event_id FROM retractions WHERE target_event_id IN (
        SELECT event_id FROM events WHERE {_MINE}))"""

VERSIONS_SQL = f"""
SELECT event_id, groupArray((recorded_us, content_hash))
FROM events
WHERE recorded_us <= %(as_of)s AND event_id IN (
    SELECT event_id FROM events WHERE {_MINE}
    UNION ALL
    SELECT event_id FROM events WHERE type = 'event.retracted' AND recorded_us <= %(as_of)s
)
GROUP BY event_id
HAVING count() > 1"""

EVENTS_BY_SUBJECT_SQL = f"""
SELECT subject, record FROM events WHERE {_MINE}
ORDER BY subject, event_id, recorded_us"""

CHUNK = 5000


def archive_params(code: str, window: Window, as_of: datetime) -> dict[str, Any]:
    """The parameters of the archive queries behind (J, D) as of T."""
    lo, hi = codes.subtree_range(code)
    return {"lo": lo, "hi": hi, "end": to_micros(window.end), "as_of": to_micros(as_of)}


@dataclass
class _Status:
    first: datetime | None = None
    activity: bool = False
    zero: bool = False


def _add(total: Any, part: Any) -> Any:
    if isinstance(total, dict):
        return {k: _add(total[k], part[k]) for k in total}
    return total + part


def _chunks(
    rows: Iterator[tuple[Any, ...]], superseded: set[tuple[str, datetime]]
) -> Iterator[list[EventRecord]]:
    """Records in chunks of about CHUNK, never splitting a subject (zero reports,
    with no subject, split freely: nothing links them)."""
    chunk: list[EventRecord] = []
    last = None
    for subject, raw in rows:
        record = EventRecord.from_json(raw.encode())
        if (str(record.event.event_id), record.recorded_at) in superseded:
            continue
        if len(chunk) >= CHUNK and (subject != last or subject == ""):
            yield chunk
            chunk = []
        chunk.append(record)
        last = subject
    if chunk:
        yield chunk


def recompute(
    store: ReadStore,
    focus_areas: tuple[str, ...],
    code: str,
    day: date,
    window: Window,
    as_of: datetime,
    deadline: datetime,
) -> tuple[Figures, reference.Reporting]:
    """(figures, J's reporting status) from the archive alone."""
    params = archive_params(code, window, as_of)
    superseded: set[tuple[str, datetime]] = set()
    for event_id, versions in store.iterate(VERSIONS_SQL, params):
        # the same version may be stored twice (a redelivered record, not merged yet)
        _first, *later = sorted(set(versions))
        superseded |= {(event_id, from_micros(us)) for us, _hash in later}
    retractions = [EventRecord.from_json(r[0].encode()) for r in store.iterate(RETRACTIONS_SQL, params)]
    retractions = [r for r in retractions if (str(r.event.event_id), r.recorded_at) not in superseded]
    by_target: dict[str, list[EventRecord]] = {}
    for r in retractions:
        by_target.setdefault(str(getattr(r.event.data, "target_event_id", "")), []).append(r)

    figures = empty_figures(focus_areas)
    status = _Status()
    for chunk in _chunks(store.iterate(EVENTS_BY_SUBJECT_SQL, params), superseded):
        mine = chunk + [r for rec in chunk for r in by_target.get(str(rec.event.event_id), [])]
        figures = _add(figures, reference.daily_figures(mine, code, window, as_of, focus_areas))
        for sub in reference.submission_events(mine, code, day, window, as_of):
            if status.first is None or sub.recorded_at < status.first:
                status.first = sub.recorded_at
            if sub.event.type == "report.zero":
                status.zero = True
            else:
                status.activity = True
    if status.first is None:
        reporting = reference.Reporting("missing", None, False)
    elif status.first > deadline:
        reporting = reference.Reporting("late", status.first, status.activity and status.zero)
    else:
        on_time = "reported" if status.activity else "zero_reported"
        reporting = reference.Reporting(on_time, status.first, status.activity and status.zero)
    return figures, reporting
