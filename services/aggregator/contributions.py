"""A subject's contribution to the counters, as signed deltas over time.

Pure. A *subject* is what the distinct figures count: a person (pseudonym), a
venue (`<jurisdiction>/<venue id>`), or, for checkpoint sums, one tally event.
Its contribution is a function of the set of its events that count: for a
set S, `cells(S)` gives every cell (code, counter, bucket, gap) it adds to
(services/common/counting.py), for every ancestor of the events'
jurisdictions, each computed from the events in that ancestor's subtree only
(distinct per level).

As of T the set that counts is the subject's events whose standing version
was recorded by T and which no retraction recorded by T excludes: each event
counts over the interval [since, until) of recorded time. So the
contribution steps only at those instants, and `history` emits, at each step
t, `cells(S(t)) - cells(S(t-))` stamped t: the sum of a subject's deltas
stamped <= T is `cells(S(T))`, for every T. When the subject's events change
(a new event, an earlier version, a retraction, in any order), the
aggregator emits `history(new) - history(old)`, which leaves the store
holding `history(new)`: what arrived when changes nothing but the order of
the writes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from schemas import codes
from services.aggregator.fold import FactRow
from services.common.counting import BUCKET_US, GAP_CAP, Model
from services.common.submissions import ACTIVITY, OWN_ZERO, ZERO, SubmissionDeltas, day_number

#: (code, counter id, bucket, gap)
Cell = tuple[str, int, int, int]
#: (stamp, cell) -> delta
Deltas = dict[tuple[int, Cell], int]
#: before a cell's code: the cell stands for that code and each of its
#: ancestors, with the same delta (migration 020: the ledger files such a
#: change once, `fan = 1`, and its views file it for every ancestor). Deltas
#: and submission rows are sums, so a change may be filed in either form and
#: `expanded` gives the cells of every code.
FAN = "*"
DAY_US = 86_400 * 1_000_000
_PERSON_KINDS = frozenset(
    {"screening.registered", "symptom.reported", "isolation.started", "isolation.ended", "case.classified"}
)
_VENUE_KINDS = frozenset({"venue.closed", "venue.reopened"})


def counting_subject(fact: FactRow) -> str | None:
    """The subject a fact row counts for. Checkpoint tallies are summed, not
    counted distinct: each tally is its own subject, so its state is just
    itself; so is each zero report, which no figure counts but which submits
    (services/common/submissions.py)."""
    return subject_key(fact.kind, fact.subject, fact.event_id)


def subject_key(kind: str, subject: str, event_id: str) -> str | None:
    """`counting_subject` from an event's type, its `subject` (fold.subject_of)
    and its id: as the archive (`events`) holds them."""
    if kind in _PERSON_KINDS:
        return "p:" + subject
    if kind in _VENUE_KINDS:
        return "v:" + subject
    if kind == "checkpoint.tally":
        return "t:" + event_id
    if kind == "report.zero":
        return "z:" + event_id
    return None


@dataclass(frozen=True)
class Counted:
    """One standing event of a subject and the recorded interval over which it
    counts: its fact rows (recorded_us = the standing version's), from
    `since` (that version's recorded time) until the earliest valid retraction
    (None: never)."""

    event_id: str
    facts: tuple[FactRow, ...]
    since: int
    until: int | None


def _in_area(origin: str, area: str) -> bool:
    return bool(origin) and not origin.startswith("overseas:") and origin.startswith(area)


@dataclass(frozen=True)
class _Contribution:
    """What one fact row contributes to, by rule: the declaration per event
    type, read by `_local_cells`."""

    earliest: tuple[str, ...] = ()
    distinct: tuple[str, ...] = ()
    family: str | None = None
    summed: str | None = None


def _contribution(f: FactRow, areas: Sequence[str]) -> _Contribution:
    kind = f.kind
    if kind == "screening.registered":
        return _Contribution(
            earliest=(
                "screened",
                f"category:{f.attr}",
                *(f"area:{a}" for a in areas if _in_area(f.origin, a)),
            )
        )
    if kind == "symptom.reported":
        return _Contribution(distinct=("symptomatic",))
    if kind == "isolation.started":
        return _Contribution(distinct=(f"started:{f.attr}", "started"), family="isolation")
    if kind == "isolation.ended":
        return _Contribution(distinct=("ended",), family="isolation")
    if kind == "case.classified":
        if f.attr == "excluded":
            return _Contribution(distinct=("excluded",), family="case")
        if f.attr == "suspected":
            return _Contribution(family="case")
        return _Contribution(earliest=(f"case:{f.attr}",), family="case")
    if kind == "venue.closed":
        return _Contribution(distinct=("venue.closed",), family="venue")
    if kind == "venue.reopened":
        return _Contribution(distinct=("venue.reopened",), family="venue")
    if kind == "checkpoint.tally":
        return _Contribution(summed=f"checkpoint:{f.attr}")
    if kind == "report.zero":
        return _Contribution()
    raise ValueError(f"no figure counts {kind!r} rows")


def _states(latest: FactRow) -> list[tuple[str, int | None]]:
    """The state counters a family's latest row puts its subject in, each with
    the first bucket it holds from (None: from the row's own bucket).
    `isolation.overdue` holds from the bucket of start + planned days: a
    window ending at the boundary after that bucket ends after it."""
    if latest.kind == "isolation.started":
        overdue_from = (latest.occurred_us + latest.value * DAY_US) // BUCKET_US
        return [(f"current:{latest.attr}", None), ("current", None), ("overdue", overdue_from)]
    if latest.kind == "case.classified" and latest.attr == "suspected":
        return [("suspected", None)]
    if latest.kind == "venue.closed":
        return [("closed", None), (f"closed_type:{latest.attr}", None)]
    return []


def _local_cells(
    facts: Sequence[FactRow], model: Model, ids: Mapping[str, int]
) -> dict[tuple[int, int, int], int]:
    """(counter id, bucket, gap) -> value for one code, from the facts in its subtree."""
    out: dict[tuple[int, int, int], int] = defaultdict(int)
    earliest: dict[str, int] = {}
    distinct: dict[str, set[int]] = defaultdict(set)
    families: dict[str, list[FactRow]] = defaultdict(list)
    for f in facts:
        c = _contribution(f, model.areas)
        bucket = f.occurred_us // BUCKET_US
        for name in c.earliest:
            if name not in earliest or f.occurred_us < earliest[name]:
                earliest[name] = f.occurred_us
        for name in c.distinct:
            distinct[name].add(bucket)
        if c.family is not None:
            families[c.family].append(f)
        if c.summed is not None and f.value:
            out[(ids[c.summed], bucket, 0)] += f.value
    for name, at in earliest.items():
        out[(ids[name], at // BUCKET_US, 0)] += 1
    for name, buckets in distinct.items():
        previous: int | None = None
        for b in sorted(buckets):
            gap = GAP_CAP if previous is None else min(b - previous, GAP_CAP)
            out[(ids[name], b, gap)] += 1
            previous = b
    for rows in families.values():
        # the latest row after each bucket: the last, in the contract's order
        # ("ties in time are broken by recorded_at, then event_id"), of the
        # rows up to that bucket
        rows = sorted(rows, key=lambda r: (r.occurred_us, r.recorded_us, r.event_id))
        last_in: dict[int, FactRow] = {}
        for r in rows:
            last_in[r.occurred_us // BUCKET_US] = r
        changes = sorted(last_in)
        for i, b in enumerate(changes):
            end = changes[i + 1] if i + 1 < len(changes) else None
            for name, held_from in _states(last_in[b]):
                start = b if held_from is None else max(b, held_from)
                if end is not None and start >= end:
                    continue
                out[(ids[name], start, 0)] += 1
                if end is not None:
                    out[(ids[name], end, 0)] -= 1
    return {k: v for k, v in out.items() if v}


@lru_cache(maxsize=65536)
def _ancestors(code: str) -> tuple[str, ...]:
    return tuple(codes.ancestors(code))


def codes_of(code: str) -> tuple[str, ...]:
    """The codes a cell's code stands for: itself, or with FAN before it, the
    code and each of its ancestors."""
    return _ancestors(code[1:]) if code.startswith(FAN) else (code,)


#: (stamp, (code, counter, bucket, gap or rec)) -> delta: deltas and submission rows alike
Rows = Mapping[tuple[int, tuple[str, int, int, int]], int]


def expanded(deltas: Rows) -> dict[tuple[int, tuple[str, int, int, int]], int]:
    """The deltas (or submission rows) with every FAN cell filed for each of
    its codes, summed with the others; zeros left out: what the store holds."""
    out: dict[tuple[int, tuple[str, int, int, int]], int] = defaultdict(int)
    for (t, (code, a, b, c)), delta in deltas.items():
        for one in codes_of(code):
            out[(t, (one, a, b, c))] += delta
    return {k: v for k, v in out.items() if v}


def cells(facts: Iterable[FactRow], model: Model, ids: Mapping[str, int] | None = None) -> dict[Cell, int]:
    """Every cell a subject's counted fact rows add to, for every ancestor of
    their jurisdictions (the country included)."""
    ids = ids if ids is not None else model.ids()
    rows = list(facts)
    out: dict[Cell, int] = {}
    places = {f.jurisdiction for f in rows}
    if len(places) == 1:  # the common case: every ancestor counts the same rows
        local = _local_cells(rows, model, ids)
        for code in _ancestors(places.pop()):
            for (counter, bucket, gap), value in local.items():
                out[(code, counter, bucket, gap)] = value
        return out
    by_code: dict[str, list[FactRow]] = defaultdict(list)
    for f in rows:
        for code in _ancestors(f.jurisdiction):
            by_code[code].append(f)
    computed: dict[tuple[str, ...], dict[tuple[int, int, int], int]] = {}
    for code, under in by_code.items():
        # ancestors whose subtree holds the same rows share one computation
        key = tuple(sorted(f"{r.event_id}/{r.attr}" for r in under))
        found = computed.get(key)
        if found is None:
            found = computed[key] = _local_cells(under, model, ids)
        for (counter, bucket, gap), value in found.items():
            out[(code, counter, bucket, gap)] = value
    return out


def _place(counted: Iterable[Counted]) -> str | None:
    """The one jurisdiction of every fact row of these events, or None when
    they have none or several."""
    places = {f.jurisdiction for c in counted for f in c.facts}
    return places.pop() if len(places) == 1 else None


def _steps_in_one_place(
    place: str,
    start: Iterable[Counted],
    steps: Iterable[tuple[int, Iterable[Counted]]],
    model: Model,
    ids: Mapping[str, int],
) -> Deltas:
    """The changes of the cells at each step (stamps ascending, each with the
    events counted from then), from those of `start`, for events all in
    `place`, in the order of their keys: every ancestor
    counts the same rows (as `cells` computes them), so the change is
    computed once, for the place's own cells, and filed once for the place
    and its ancestors (FAN)."""
    fan = FAN + place
    out: Deltas = {}
    current = _local_cells([f for c in start for f in c.facts], model, ids)
    for t, counted in steps:
        now = _local_cells([f for c in counted for f in c.facts], model, ids)
        changes = []
        for key in sorted(current.keys() | now.keys()):
            change = now.get(key, 0) - current.get(key, 0)
            if change:
                changes.append((key, change))
        # in the ledger's order (Ledger sorts its rows: already sorted, that
        # is one comparison a row): stamp, code, counter, bucket, gap
        for (counter, bucket, gap), change in changes:
            out[(t, (fan, counter, bucket, gap))] = change
        current = now
    return out


def history(counted: Iterable[Counted], model: Model, ids: Mapping[str, int] | None = None) -> Deltas:
    """The subject's deltas over recorded time: at each instant its set of
    counted events changes, the change of its cells, stamped with the instant."""
    ids = ids if ids is not None else model.ids()
    items = [c for c in counted if c.until is None or c.until > c.since]
    steps = sorted({c.since for c in items} | {c.until for c in items if c.until is not None})
    place = _place(items)
    if place is not None:
        at = [(t, [c for c in items if c.since <= t and (c.until is None or t < c.until)]) for t in steps]
        return _steps_in_one_place(place, (), at, model, ids)
    out: Deltas = {}
    before: dict[Cell, int] = {}
    for t in steps:
        now = cells(
            (f for c in items if c.since <= t and (c.until is None or t < c.until) for f in c.facts),
            model,
            ids,
        )
        for cell in before.keys() | now.keys():
            change = now.get(cell, 0) - before.get(cell, 0)
            if change:
                out[(t, cell)] = change
        before = now
    return out


def difference(new: Mapping[tuple[int, Cell], int], old: Mapping[tuple[int, Cell], int]) -> Deltas:
    """`new - old`: the deltas that turn a store holding `old` into one holding `new`."""
    out: Deltas = {}
    for key in new.keys() | old.keys():
        change = new.get(key, 0) - old.get(key, 0)
        if change:
            out[key] = change
    return out


def appended(
    then: Sequence[Counted], now: Sequence[Counted], model: Model, ids: Mapping[str, int] | None = None
) -> Deltas | None:
    """`history(now) - history(then)` without either history, when `now` only
    adds events counted from after every step of `then` and never retracted
    (events arriving in recorded order: the common case): the changes at the
    new steps, each from the cells `then` ends with. None when that does not
    hold (the caller computes both histories). The work is that of the new
    steps, whatever the length of the subject's history."""
    ids = ids if ids is not None else model.ids()
    before = {c.event_id: c for c in then}
    added: list[Counted] = []
    for c in now:
        old = before.pop(c.event_id, None)
        if old is None:
            added.append(c)
        elif (old.since, old.until, old.facts) != (c.since, c.until, c.facts):
            return None
    if before:
        return None
    last = max((t for c in then for t in (c.since, c.until) if t is not None), default=None)
    if any(c.until is not None or (last is not None and c.since <= last) for c in added):
        return None
    # after the last step of `then` its counted set is its events never retracted
    items = [c for c in then if c.until is None]
    place = _place([*items, *added])
    if place is not None:
        at, counted = [], items
        for t in sorted({c.since for c in added}):
            counted = counted + [c for c in added if c.since == t]
            at.append((t, counted))
        return _steps_in_one_place(place, items, at, model, ids)
    current = cells((f for c in items for f in c.facts), model, ids)
    out: Deltas = {}
    for t in sorted({c.since for c in added}):
        items += [c for c in added if c.since == t]
        now_cells = cells((f for c in items for f in c.facts), model, ids)
        for cell in current.keys() | now_cells.keys():
            change = now_cells.get(cell, 0) - current.get(cell, 0)
            if change:
                out[(t, cell)] = change
        current = now_cells
    return out


def submissions(counted: Iterable[Counted]) -> SubmissionDeltas:
    """The subject's submission rows (services/common/submissions.py): for each
    counted event, for every ancestor of its jurisdiction (one FAN row), +1 at
    `since` and -1 at `until`, keyed by the event's submission time `since`."""
    out: SubmissionDeltas = defaultdict(int)
    for c in counted:
        if not c.facts or (c.until is not None and c.until <= c.since):
            continue
        f = c.facts[0]  # an event's rows share its type, place and times
        keys: list[tuple[str, int, int, int]]
        if f.kind == "report.zero":
            day = day_number(f.attr)
            keys = [(FAN + f.jurisdiction, ZERO, day, c.since), (f.jurisdiction, OWN_ZERO, day, c.since)]
        else:
            keys = [(FAN + f.jurisdiction, ACTIVITY, f.occurred_us // BUCKET_US, c.since)]
        for key in keys:
            out[(c.since, key)] += 1
            if c.until is not None:
                out[(c.until, key)] -= 1
    return {k: v for k, v in out.items() if v}


def changed_submissions(then: Sequence[Counted], now: Sequence[Counted]) -> SubmissionDeltas:
    """`submissions(now) - submissions(then)` from the events that differ
    between the two alone: a subject's submission rows are a sum of its
    events' rows, so the events counted alike in both cancel."""
    before, after = {_counted_as(c) for c in then}, {_counted_as(c) for c in now}
    gone = [c for c in then if _counted_as(c) not in after]
    new = [c for c in now if _counted_as(c) not in before]
    return difference(submissions(new), submissions(gone))


def _counted_as(c: Counted) -> tuple[str, int, int | None, tuple[FactRow, ...]]:
    """What makes an event count alike in two counted sets."""
    return (c.event_id, c.since, c.until, c.facts)
