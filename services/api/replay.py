"""Auditor replay (contract section 6, GET /v1/audit/replay): the accepted
events behind the figures for (J, D) as of T, read back from the archive, the
figures recomputed from those events alone by the reference implementation
(an independent code path), and every difference from the query path.

The events behind (J, D): every archived version (duplicates included,
marked) of an event in J's subtree that occurred before the window's end or
is a zero report, recorded by T; and every retraction recorded by T whose
target is one of them. Cumulative figures need the whole history, so that
set is J's history up to D.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from schemas import codes
from schemas.records import EventRecord, from_micros
from services.api.daily import MISSING, DailyQuery
from services.api.replay_figures import archive_params, recompute
from services.api.replay_pool import ReplayPool
from services.api.store import ReadStore
from services.common import reference
from services.common.figures import Figures, flatten
from services.common.windows import Window

#: the archive rows behind (J, D) as of T, in recorded order (then by topic
#: position: a total order, so that pages never overlap and every server,
#: one or a cluster's shards, lists two versions of an event alike); each
#: record once: a batch folded again (after a rebalance or a kill, before its
#: offsets were committed) archives its records again at the same topic
#: position, and ReplacingMergeTree collapses such copies only when (if ever)
#: it merges their parts (copies of a record share its event_id, so its shard)
EVENTS_SQL = """
SELECT event_id, recorded_us, content_hash, type, jurisdiction, occurred_us, source,
    kafka_partition, kafka_offset, kafka_line, record,
    (event_id, recorded_us) IN (SELECT event_id, recorded_us FROM event_duplicates) AS superseded,
    (event_id, recorded_us) IN (SELECT event_id, recorded_us FROM event_duplicates WHERE conflict = 1)
        AS conflicting
FROM events
WHERE recorded_us <= %(as_of)s
  AND (
    (jurisdiction >= %(lo)s AND jurisdiction <= %(hi)s
        AND (occurred_us < %(end)s OR type = 'report.zero') AND type != 'event.retracted')
    OR (type = 'event.retracted' AND event_id IN (
        SELECT event_id FROM retractions
        WHERE recorded_us <= %(as_of)s AND target_event_id IN (
            SELECT event_id FROM events
            WHERE jurisdiction >= %(lo)s AND jurisdiction <= %(hi)s AND recorded_us <= %(as_of)s
        )
    ))
  )
ORDER BY recorded_us, event_id, kafka_partition, kafka_offset, kafka_line
LIMIT 1 BY recorded_us, event_id, kafka_partition, kafka_offset, kafka_line"""


@dataclass(frozen=True)
class ArchivedEvent:
    event_id: str
    recorded_at: datetime
    type: str
    jurisdiction: str
    occurred_at: datetime
    source: str
    partition: int
    offset: int
    line: int
    superseded: bool
    conflicting: bool
    record: EventRecord

    def as_dict(self) -> dict[str, Any]:
        event = self.record.event.model_dump(mode="json", exclude_none=True)
        out: dict[str, Any] = {
            "event_id": self.event_id,
            "recorded_at": self.recorded_at.isoformat(),
            "type": self.type,
            "source": self.source,
            "kafka": {"partition": self.partition, "offset": self.offset, "line": self.line},
            "event": event,
        }
        if self.superseded:
            out["duplicate_of_earlier_version"] = True
            out["conflicting"] = self.conflicting
        if self.type == "event.retracted":
            out["retracts"] = event["data"]["target_event_id"]
        return out


def archived_events(
    store: ReadStore, code: str, window: Window, as_of: datetime, limit: int | None = None, offset: int = 0
) -> Iterator[ArchivedEvent]:
    """The archive rows behind (J, D) as of T, streamed (or one page of them)."""
    params = archive_params(code, window, as_of)
    sql = EVENTS_SQL
    if limit is not None:
        sql += "\nLIMIT %(offset)s, %(limit)s"
        params |= {"limit": limit, "offset": offset}
    for row in store.iterate(sql, params):
        eid, rec_us, _hash, etype, where, occ_us, source, part, off, line, record, sup, conf = row
        yield ArchivedEvent(
            eid,
            from_micros(rec_us),
            etype,
            where,
            from_micros(occ_us),
            source,
            int(part),
            int(off),
            int(line),
            bool(sup),
            bool(conf),
            EventRecord.from_json(record.encode()),
        )


@dataclass(frozen=True)
class Difference:
    figure: str
    served: Any
    replayed: Any


def differences(served: Figures, replayed: Figures) -> list[Difference]:
    a, b = dict(flatten(served)), dict(flatten(replayed))
    return [Difference(k, a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


@dataclass(frozen=True)
class Replay:
    total_events: int
    retractions: int
    duplicate_conflicts: int
    replayed: Figures
    served: Figures
    replayed_status: reference.Reporting
    served_status: str
    differences: list[Difference]


COUNTS_SQL = f"""
SELECT count(), countIf(type = 'event.retracted'), countIf(conflicting)
FROM ({EVENTS_SQL})"""


def compare_with_served(
    store: ReadStore,
    focus_areas: tuple[str, ...],
    code: str,
    day: date,
    window: Window,
    as_of: datetime,
    deadline: datetime,
    replayed: Figures,
    status: reference.Reporting,
) -> tuple[Figures, str, list[Difference]]:
    """(served figures, served status, every difference from the replayed ones)."""
    query = DailyQuery(store, focus_areas)
    figures, reporting = query.run(code, [code], window, as_of, day.isoformat(), deadline)
    served = figures.get(code, DailyQuery.empty(focus_areas))
    served_reporting = reporting.get(code, MISSING)
    served_status = served_reporting.status
    served_wrong = served_reporting.zero_report_contradicted
    diffs = differences(served, replayed)
    if served_status != status.status:
        diffs.append(Difference("reporting.status", served_status, status.status))
    if served_wrong != status.zero_report_contradicted:
        diffs.append(
            Difference("reporting.zero_report_contradicted", served_wrong, status.zero_report_contradicted)
        )
    return served, served_status, diffs


def replay(
    store: ReadStore,
    focus_areas: tuple[str, ...],
    code: str,
    day: date,
    window: Window,
    as_of: datetime,
    deadline: datetime,
    pool: ReplayPool | None = None,
) -> Replay:
    """The figures recomputed from the archive (in bounded memory, see
    replay_figures.py; by `pool`'s processes when given) next to the served ones."""
    replayed, status = recompute(store, focus_areas, code, day, window, as_of, deadline, pool)
    served, served_status, diffs = compare_with_served(
        store, focus_areas, code, day, window, as_of, deadline, replayed, status
    )
    total, retractions, conflicts = store.query(COUNTS_SQL, archive_params(code, window, as_of))[0]
    return Replay(
        int(total), int(retractions), int(conflicts), replayed, served, status, served_status, diffs
    )


def behind(records: list[EventRecord], code: str, window: Window) -> list[EventRecord]:
    """The records behind (J, D) among `records`, by the rule EVENTS_SQL applies
    to the archive: J's events that occurred before the window's end or are zero
    reports, and the retractions of any of them."""
    mine = [
        r
        for r in records
        if codes.is_within(r.event.jurisdiction, code)
        and r.event.type != "event.retracted"
        and (r.event.occurred_at < window.end or r.event.type == "report.zero")
    ]
    ids = {str(r.event.event_id) for r in records if codes.is_within(r.event.jurisdiction, code)}
    retractions = [
        r
        for r in records
        if r.event.type == "event.retracted" and str(getattr(r.event.data, "target_event_id", "")) in ids
    ]
    return mine + retractions
