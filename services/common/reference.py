"""Reference implementation of the daily figures (contract sections 2 to 5).

Plain Python over a list of `EventRecord`s: no store, no SQL, no shared code
with the query path beyond the figure skeleton (`empty_figures`). It is meant
to be read next to the contract and trusted; property tests compare the query
path against it, and the auditor replay recomputes published figures with it.

Definitions used throughout (contract section 4):

- "in W": `window.start <= occurred_at < window.end`;
- "before end of W": `occurred_at < window.end`;
- "earliest": minimum `occurred_at`;
- "latest ... at end of W": among events with `occurred_at < window.end`, the
  maximum by (`occurred_at`, `recorded_at`, `str(event_id)`)
  ("Ties in time are broken by `recorded_at`, then `event_id`").
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

from schemas import codes
from schemas.events import (
    CaseClassified,
    CheckpointTally,
    EventRetracted,
    IsolationEnded,
    IsolationStarted,
    ScreeningRegistered,
    SymptomReported,
    VenueClosed,
    VenueReopened,
    ZeroReport,
)
from schemas.records import EventRecord
from services.common.figures import (
    CASE_MILESTONES,
    CHECKPOINT_FIELDS,
    DEFAULT_FOCUS_AREAS,
    Figures,
    empty_figures,
)
from services.common.windows import Window

K = TypeVar("K", bound=Hashable)


# -- which records count (sections 2 and 3) ---------------------------------------------------------


def canonical_versions(records: Iterable[EventRecord]) -> dict[UUID, EventRecord]:
    """The version of each event_id that stands.

    "Duplicates: an `event_id` accepted again never counts twice. If its content
    differs from the first accepted version, the first stands": the first is the
    earliest `recorded_at`, ties broken by the smaller `content_hash()`.
    """
    best: dict[UUID, EventRecord] = {}
    for record in records:
        key = record.event.event_id
        current = best.get(key)
        if current is None:
            best[key] = record
        elif record.recorded_at != current.recorded_at:
            if record.recorded_at < current.recorded_at:
                best[key] = record
        # hashes only for a tie: a content hash is a canonical dump (the replay's
        # costliest step when computed for every record)
        elif record.content_hash() < current.content_hash():
            best[key] = record
    return best


def visible_events(records: Iterable[EventRecord], as_of: datetime) -> list[EventRecord]:
    """The records that count as of `as_of`, in (`recorded_at`, `event_id`) order.

    - canonical version per event_id only (see `canonical_versions`);
    - "a figure 'as of T' uses only events whose `recorded_at` <= T, and honours
      only retractions recorded <= T";
    - "Retraction: the target is excluded from every figure as of the
      retraction's `recorded_at`. A retraction of a retraction is rejected. A
      retraction whose target has not arrived yet takes effect when it does."
      A retraction is valid when it is a canonical version and the canonical
      version of its target (anywhere in the input, whatever `as_of`) is not
      itself an `event.retracted`. Retractions never enter the figures.
    """
    canonical = canonical_versions(records)
    seen = [r for r in canonical.values() if r.recorded_at <= as_of]

    retracted: set[UUID] = set()
    for record in seen:
        event = record.event
        if not isinstance(event, EventRetracted):
            continue
        target = canonical.get(event.data.target_event_id)
        if target is not None and isinstance(target.event, EventRetracted):
            continue  # a retraction of a retraction is void: its target stays retracted
        retracted.add(event.data.target_event_id)

    kept = [r for r in seen if not isinstance(r.event, EventRetracted) and r.event.event_id not in retracted]
    return sorted(kept, key=lambda r: (r.recorded_at, str(r.event.event_id)))


# -- small helpers ------------------------------------------------------------------------------------


def _in(window: Window, at: datetime) -> bool:
    """Contract: "In W" means `occurred_at` in W = [start, end)."""
    return window.start <= at < window.end


def _order(record: EventRecord) -> tuple[datetime, datetime, str]:
    """Sort key of "latest": "Ties in time are broken by `recorded_at`, then `event_id`"."""
    return (record.event.occurred_at, record.recorded_at, str(record.event.event_id))


def _earliest(items: Iterable[tuple[K, datetime]]) -> dict[K, datetime]:
    """Earliest `occurred_at` per key."""
    out: dict[K, datetime] = {}
    for key, at in items:
        if key not in out or at < out[key]:
            out[key] = at
    return out


def _new_and_cumulative(items: Iterable[tuple[K, datetime]], window: Window) -> dict[str, int]:
    """`new`: keys whose earliest time is in W; `cumulative`: keys with any time before end of W."""
    earliest = _earliest(items)
    return {
        "new": sum(1 for at in earliest.values() if _in(window, at)),
        "cumulative": sum(1 for at in earliest.values() if at < window.end),
    }


def _latest(items: Iterable[tuple[K, EventRecord]], window: Window) -> dict[K, EventRecord]:
    """Latest record per key at end of W (only `occurred_at` < end of W, max by `_order`)."""
    out: dict[K, EventRecord] = {}
    for key, record in items:
        if record.event.occurred_at >= window.end:
            continue
        if key not in out or _order(record) > _order(out[key]):
            out[key] = record
    return out


def _in_area(origin: str | None, area: str) -> bool:
    """An `origin` lies in a focus area when it is a division code with the area as prefix
    (`"overseas:XX"` origins lie in no area)."""
    return origin is not None and not origin.startswith("overseas:") and origin.startswith(area)


# -- figure families (section 4) ----------------------------------------------------------------------


def _screened(out: dict[str, Any], events: list[EventRecord], window: Window, areas: Sequence[str]) -> None:
    """`screened.new`: persons whose earliest `screening.registered` in J is in W;
    `screened.cumulative`: persons with any `screening.registered` in J before end of W;
    `by_category.<c>` / `by_origin.<area>`: the same, counting only registrations of
    category c / whose `origin` lies in the focus area."""
    regs = [r.event for r in events if isinstance(r.event, ScreeningRegistered)]
    total = _new_and_cumulative(((e.person.id, e.occurred_at) for e in regs), window)
    out["new"], out["cumulative"] = total["new"], total["cumulative"]
    for category in out["by_category"]:
        out["by_category"][category] = _new_and_cumulative(
            ((e.person.id, e.occurred_at) for e in regs if e.data.category.value == category), window
        )
    for area in areas:
        out["by_origin"][area] = _new_and_cumulative(
            ((e.person.id, e.occurred_at) for e in regs if _in_area(e.data.origin, area)), window
        )


def _symptomatic(out: dict[str, Any], events: list[EventRecord], window: Window) -> None:
    """`symptomatic.new`: persons with a `symptom.reported` in W."""
    out["new"] = len(
        {
            r.event.person.id
            for r in events
            if isinstance(r.event, SymptomReported) and _in(window, r.event.occurred_at)
        }
    )


def _isolation(out: dict[str, Any], events: list[EventRecord], window: Window) -> None:
    """`isolation.started.<mode>` and `.total`: persons with an `isolation.started` (of that mode) in W;
    `isolation.ended.total`: persons with an `isolation.ended` in W;
    `isolation.current.<mode>` and `.total`: persons whose latest isolation event in J at end of W
    is `isolation.started` (of that mode);
    `isolation.overdue`: of those, persons whose start + `planned_days` is before end of W."""
    starts = [r.event for r in events if isinstance(r.event, IsolationStarted)]
    ends = [r.event for r in events if isinstance(r.event, IsolationEnded)]

    started_in_w = [e for e in starts if _in(window, e.occurred_at)]
    for mode in out["started"]:
        if mode != "total":
            out["started"][mode] = len({e.person.id for e in started_in_w if e.data.mode.value == mode})
    out["started"]["total"] = len({e.person.id for e in started_in_w})
    out["ended"]["total"] = len({e.person.id for e in ends if _in(window, e.occurred_at)})

    latest = _latest(
        ((r.event.person.id, r) for r in events if isinstance(r.event, IsolationStarted | IsolationEnded)),
        window,
    )
    current = [r.event for r in latest.values() if isinstance(r.event, IsolationStarted)]
    for mode in out["current"]:
        if mode != "total":
            out["current"][mode] = sum(1 for e in current if e.data.mode.value == mode)
    out["current"]["total"] = len(current)
    out["overdue"] = sum(
        1 for e in current if e.occurred_at + timedelta(days=e.data.planned_days) < window.end
    )


def _cases(out: dict[str, Any], events: list[EventRecord], window: Window) -> None:
    """`cases.suspected.current`: persons whose latest `case.classified` in J at end of W is `suspected`;
    `cases.<s>.new` / `.cumulative` (s in confirmed, recovered, deceased): persons whose earliest
    classification as s in J is in W / before end of W;
    `cases.excluded.new`: persons classified `excluded` in W."""
    cases = [r.event for r in events if isinstance(r.event, CaseClassified)]

    latest = _latest(((r.event.person.id, r) for r in events if isinstance(r.event, CaseClassified)), window)
    out["suspected"]["current"] = sum(
        1
        for r in latest.values()
        if isinstance(r.event, CaseClassified) and r.event.data.status.value == "suspected"
    )
    for status in CASE_MILESTONES:
        out[status] = _new_and_cumulative(
            ((e.person.id, e.occurred_at) for e in cases if e.data.status.value == status), window
        )
    out["excluded"]["new"] = len(
        {e.person.id for e in cases if e.data.status.value == "excluded" and _in(window, e.occurred_at)}
    )


def _venues(out: dict[str, Any], events: list[EventRecord], window: Window) -> None:
    """A venue is identified by the pair (`jurisdiction`, `venue.id`).
    `venues.closed.new` / `venues.reopened.new`: venues with a `venue.closed` / `venue.reopened` in W;
    `venues.closed.current` and `venues.closed_by_type.<type>`: venues whose latest venue event in J
    at end of W is `venue.closed` (its type: the one on that latest event)."""
    venue_events = [r for r in events if isinstance(r.event, VenueClosed | VenueReopened)]

    def key(record: EventRecord) -> tuple[str, str]:
        assert isinstance(record.event, VenueClosed | VenueReopened)
        return (record.event.jurisdiction, record.event.venue.id)

    in_w = [r for r in venue_events if _in(window, r.event.occurred_at)]
    out["closed"]["new"] = len({key(r) for r in in_w if isinstance(r.event, VenueClosed)})
    out["reopened"]["new"] = len({key(r) for r in in_w if isinstance(r.event, VenueReopened)})

    latest = _latest(((key(r), r) for r in venue_events), window)
    closed = [r.event for r in latest.values() if isinstance(r.event, VenueClosed)]
    out["closed"]["current"] = len(closed)
    for venue_type in out["closed_by_type"]:
        out["closed_by_type"][venue_type] = sum(1 for e in closed if e.venue.type.value == venue_type)


def _checkpoints(out: dict[str, Any], events: list[EventRecord], window: Window) -> None:
    """`checkpoints.people_checked`, `.vehicles_checked`, `.fevers_found`, `.turned_back`:
    sums over `checkpoint.tally` in W."""
    for field in CHECKPOINT_FIELDS:
        out[field] = sum(
            int(getattr(r.event.data, field))
            for r in events
            if isinstance(r.event, CheckpointTally) and _in(window, r.event.occurred_at)
        )


def daily_figures(
    records: Iterable[EventRecord],
    code: str,
    window: Window,
    as_of: datetime,
    focus_areas: Sequence[str] = DEFAULT_FOCUS_AREAS,
) -> Figures:
    """Every figure of contract section 4 for jurisdiction `code` and its descendants
    ("Every figure for a jurisdiction J covers events attributed to J and all its
    descendants"), over the records visible as of `as_of`."""
    scope = codes.normalize(code)
    events = [r for r in visible_events(records, as_of) if codes.is_within(r.event.jurisdiction, scope)]
    figures = empty_figures(focus_areas)
    _screened(figures["screened"], events, window, focus_areas)
    _symptomatic(figures["symptomatic"], events, window)
    _isolation(figures["isolation"], events, window)
    _cases(figures["cases"], events, window)
    _venues(figures["venues"], events, window)
    _checkpoints(figures["checkpoints"], events, window)
    return figures


# -- reporting completeness (section 5) ---------------------------------------------------------------


@dataclass(frozen=True)
class Reporting:
    #: one of "reported", "zero_reported", "late", "missing"
    status: str
    submitted_at: datetime | None
    zero_report_contradicted: bool


def submission_events(
    records: Iterable[EventRecord], unit: str, day: date, window: Window, as_of: datetime
) -> list[EventRecord]:
    """The submissions of U for D: "an accepted, unretracted event attributed to U (or ... to
    one of U's descendants) that is either a `report.zero` with `report_date` = D, or any
    other event, except `event.retracted`, with `occurred_at` in W." A `report.zero` for
    another date is not a submission, whatever its `occurred_at`."""
    scope = codes.normalize(unit)
    out: list[EventRecord] = []
    for record in visible_events(records, as_of):
        event = record.event
        if not codes.is_within(event.jurisdiction, scope):
            continue
        if isinstance(event, ZeroReport):
            if event.data.report_date == day:
                out.append(record)
        elif not isinstance(event, EventRetracted) and _in(window, event.occurred_at):
            out.append(record)
    return out


def contradicted(zero_reports: Iterable[str], others: Iterable[str]) -> set[str]:
    """The jurisdictions of the contradicted zero reports among `zero_reports`,
    given the jurisdictions of the other (not `report.zero`) submitting events:
    "a `report.zero` for D from a jurisdiction Z ... while another submitting
    event for D is attributed to Z or one of Z's descendants (that zero report
    was wrong; a village's zero report is not contradicted by its sibling
    village's events, so neither is their town)". Another zero report in Z's
    subtree contradicts nothing: it says the same.

    An event attributed to A lies in Z's subtree exactly when Z is A or one of
    A's ancestors."""
    covered = {z for a in set(others) for z in codes.ancestors(a)}
    return {z for z in zero_reports if z in covered}


def reporting_status(
    records: Iterable[EventRecord],
    unit: str,
    day: date,
    window: Window,
    deadline: datetime,
    as_of: datetime,
) -> Reporting:
    """Status of reporting unit `unit` for date `day`, as of `as_of`:
    `late`: submitted, and the submission time is after the deadline;
    `reported`: submitted by the deadline, and at least one of its events is not a `report.zero`;
    `zero_reported`: submitted by the deadline, and all of its events are `report.zero`;
    `missing`: not submitted.
    "Its submission time is the earliest `recorded_at` among those events."
    `zero_report_contradicted`: the unit holds a contradicted zero report: one
    from a jurisdiction Z in its subtree with another submitting event attributed
    to Z or below (see `contradicted`)."""
    submitted = submission_events(records, unit, day, window, as_of)
    if not submitted:
        return Reporting(status="missing", submitted_at=None, zero_report_contradicted=False)
    submitted_at = min(r.recorded_at for r in submitted)
    zeros = [r.event.jurisdiction for r in submitted if isinstance(r.event, ZeroReport)]
    others = [r.event.jurisdiction for r in submitted if not isinstance(r.event, ZeroReport)]
    if submitted_at > deadline:
        status = "late"
    elif others:
        status = "reported"
    else:
        status = "zero_reported"
    return Reporting(
        status=status,
        submitted_at=submitted_at,
        zero_report_contradicted=bool(contradicted(zeros, others)),
    )
