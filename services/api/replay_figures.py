"""The replay's recomputation, in bounded memory: J's events stream from the
archive ordered by subject and go to the reference implementation a chunk of
whole subjects at a time. Every person, venue and checkpoint figure is a sum
over subjects, so the chunks' figures add up; the reporting status keeps the
earliest submission, whether any submission is not a zero report, and the
jurisdictions of the zero reports and of the other submissions (a zero report
and the event that contradicts it may lie in different chunks; there are at
most as many as the registry's codes under J). What crosses subjects is read first and is
small: which versions of a resent event are superseded (decided from the
archive's versions alone) and the retractions of J's events."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from schemas import codes
from schemas.records import EventRecord, to_micros
from services.api.replay_pool import ReplayPool
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
SELECT subject, event_id, recorded_us, record FROM events WHERE {_MINE}
ORDER BY subject, event_id, recorded_us"""

CHUNK = 5000


def archive_params(code: str, window: Window, as_of: datetime) -> dict[str, Any]:
    """The parameters of the archive queries behind (J, D) as of T."""
    lo, hi = codes.subtree_range(code)
    return {"lo": lo, "hi": hi, "end": to_micros(window.end), "as_of": to_micros(as_of)}


@dataclass(frozen=True)
class ChunkTask:
    """One chunk's recomputation, as sent to a replay process: archived records
    (JSON) of whole subjects, and the retractions that target them."""

    records: list[str]
    retractions: list[str]
    code: str
    day: date
    window: Window
    as_of: datetime
    focus_areas: tuple[str, ...]


@dataclass(frozen=True)
class ChunkPart:
    """A chunk's figures and its part of J's reporting status."""

    figures: Figures
    first: datetime | None
    #: the jurisdictions of the chunk's zero reports for D, and of its other submissions
    zeros: frozenset[str]
    others: frozenset[str]


def chunk_part(task: ChunkTask) -> ChunkPart:
    chunk = [EventRecord.from_json(raw.encode()) for raw in task.records]
    mine = chunk + [EventRecord.from_json(raw.encode()) for raw in task.retractions]
    figures = reference.daily_figures(mine, task.code, task.window, task.as_of, task.focus_areas)
    subs = reference.submission_events(mine, task.code, task.day, task.window, task.as_of)
    return ChunkPart(
        figures,
        min((s.recorded_at for s in subs), default=None),
        frozenset(s.event.jurisdiction for s in subs if s.event.type == "report.zero"),
        frozenset(s.event.jurisdiction for s in subs if s.event.type != "report.zero"),
    )


def _add(total: Any, part: Any) -> Any:
    if isinstance(total, dict):
        return {k: _add(total[k], part[k]) for k in total}
    return total + part


def _chunks(
    rows: Iterator[tuple[Any, ...]], superseded: set[tuple[str, int]]
) -> Iterator[list[tuple[str, str]]]:
    """(event_id, record) in chunks of about CHUNK, never splitting a subject
    (zero reports, with no subject, split freely: nothing links them)."""
    chunk: list[tuple[str, str]] = []
    last = None
    for subject, event_id, recorded_us, raw in rows:
        if (event_id, recorded_us) in superseded:
            continue
        if len(chunk) >= CHUNK and (subject != last or subject == ""):
            yield chunk
            chunk = []
        chunk.append((event_id, raw))
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
    pool: ReplayPool | None = None,
) -> tuple[Figures, reference.Reporting]:
    """(figures, J's reporting status) from the archive alone; the chunks are
    recomputed by `pool`'s processes when given."""
    params = archive_params(code, window, as_of)
    superseded: set[tuple[str, int]] = set()
    for event_id, versions in store.iterate(VERSIONS_SQL, params):
        # the same version may be stored twice (a redelivered record, not merged yet)
        _first, *later = sorted(set(versions))
        superseded |= {(event_id, us) for us, _hash in later}
    by_target: dict[str, list[str]] = {}
    for (raw,) in store.iterate(RETRACTIONS_SQL, params):
        r = EventRecord.from_json(raw.encode())
        if (str(r.event.event_id), to_micros(r.recorded_at)) not in superseded:
            by_target.setdefault(str(getattr(r.event.data, "target_event_id", "")), []).append(raw)

    tasks = (
        ChunkTask(
            [raw for _id, raw in chunk],
            [r for event_id, _raw in chunk for r in by_target.get(event_id, [])],
            code,
            day,
            window,
            as_of,
            focus_areas,
        )
        for chunk in _chunks(store.iterate(EVENTS_BY_SUBJECT_SQL, params), superseded)
    )
    figures = empty_figures(focus_areas)
    first: datetime | None = None
    zeros: set[str] = set()
    others: set[str] = set()
    for part in (pool or ReplayPool(0)).map_unordered(chunk_part, tasks):
        figures = _add(figures, part.figures)
        if part.first is not None and (first is None or part.first < first):
            first = part.first
        zeros |= part.zeros
        others |= part.others
    if first is None:
        return figures, reference.Reporting("missing", None, False)
    wrong = bool(reference.contradicted(zeros, others))
    if first > deadline:
        return figures, reference.Reporting("late", first, wrong)
    return figures, reference.Reporting("reported" if others else "zero_reported", first, wrong)
