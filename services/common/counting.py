"""The counting model (contract section 4): the counters the aggregator
maintains, and which figure reads which counter how.

Every figure of section 4 is a sum over *cells* `(code, counter, bucket, gap)`
of signed deltas, each stamped with the recorded time `t` from which it takes
effect (services/aggregator/contributions.py makes them):

- `code`: the jurisdiction J the cell counts for (every ancestor of an event's
  jurisdiction gets its own cells, so distinct counts are exact per level);
- `bucket`: an hour of `occurred_at` (µs // BUCKET_US). Report windows start
  and end on whole hours of the reporting zone, so every bucket lies wholly
  inside or outside a window;
- `gap`: for *first in W* counters, the buckets since the subject's previous
  bucket with such an event (GAP_CAP when none or further): a subject counts
  in W = [s, e) once, at its first bucket h in W, which is the one with
  h - gap < s.

A figure for (J, W, as of T) is the sum of the deltas of J's cells with
`t <= T` whose bucket satisfies the figure's *measure*:

- IN_W: s <= bucket < e (sums, and the `new` of earliest-style counters);
- BEFORE_END: bucket < e (`cumulative`, and the state counters: a state
  counter has +1 at the bucket where a subject enters the state and -1 where
  it leaves it, so the prefix sum is the state at the window's end);
- FIRST_IN_W: s <= bucket < e and bucket - gap < s.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

from services.common.figures import (
    CASE_MILESTONES,
    CATEGORIES,
    CHECKPOINT_FIELDS,
    MODES,
    VENUE_TYPES,
    Figures,
    empty_figures,
)

#: one hour of occurred time, in µs
BUCKET_US = 3_600_000_000
#: the largest gap kept: windows are at most 25 hours long (a DST change), so
#: any gap of 25 or more buckets says "no earlier event in W"
GAP_CAP = 48


class Measure(Enum):
    IN_W = "in_w"
    BEFORE_END = "before_end"
    FIRST_IN_W = "first_in_w"


class Rule(Enum):
    """How a subject's events make a counter's cells."""

    #: +1 at the bucket of the subject's earliest matching event
    EARLIEST = "earliest"
    #: +1 at each bucket with a matching event, with the gap to the previous one
    DISTINCT_BUCKETS = "distinct_buckets"
    #: +1 while the subject's latest event of a family is in a state, -1 after
    STATE = "state"
    #: the event's value at its bucket (checkpoint counts)
    SUM = "sum"


@dataclass(frozen=True)
class Counter:
    name: str
    rule: Rule


def _counters(areas: Sequence[str]) -> tuple[Counter, ...]:
    E, D, S = Rule.EARLIEST, Rule.DISTINCT_BUCKETS, Rule.STATE
    return (
        Counter("screened", E),
        *(Counter(f"category:{c}", E) for c in CATEGORIES),
        *(Counter(f"case:{s}", E) for s in CASE_MILESTONES),
        Counter("symptomatic", D),
        *(Counter(f"started:{m}", D) for m in MODES),
        Counter("started", D),
        Counter("ended", D),
        Counter("excluded", D),
        Counter("venue.closed", D),
        Counter("venue.reopened", D),
        *(Counter(f"current:{m}", S) for m in MODES),
        Counter("current", S),
        Counter("overdue", S),
        Counter("suspected", S),
        Counter("closed", S),
        *(Counter(f"closed_type:{t}", S) for t in VENUE_TYPES),
        *(Counter(f"checkpoint:{f}", Rule.SUM) for f in CHECKPOINT_FIELDS),
        # the focus areas last: the ids of every other counter do not depend on them
        *(Counter(f"area:{a}", E) for a in areas),
    )


@dataclass(frozen=True)
class Reading:
    """One figure: its dotted path, the counter it sums and how."""

    path: str
    counter: str
    measure: Measure


def _new_and_cumulative(path: str, counter: str) -> list[Reading]:
    """An earliest-style figure pair: `new` is in W, `cumulative` before W's end."""
    return [
        Reading(f"{path}.new", counter, Measure.IN_W),
        Reading(f"{path}.cumulative", counter, Measure.BEFORE_END),
    ]


def _readings(areas: Sequence[str]) -> tuple[Reading, ...]:
    IN, END, FIRST = Measure.IN_W, Measure.BEFORE_END, Measure.FIRST_IN_W
    out = _new_and_cumulative("screened", "screened")
    for c in CATEGORIES:
        out += _new_and_cumulative(f"screened.by_category.{c}", f"category:{c}")
    for a in areas:
        out += _new_and_cumulative(f"screened.by_origin.{a}", f"area:{a}")
    out.append(Reading("symptomatic.new", "symptomatic", FIRST))
    out += [Reading(f"isolation.started.{m}", f"started:{m}", FIRST) for m in MODES]
    out += [
        Reading("isolation.started.total", "started", FIRST),
        Reading("isolation.ended.total", "ended", FIRST),
    ]
    out += [Reading(f"isolation.current.{m}", f"current:{m}", END) for m in MODES]
    out += [
        Reading("isolation.current.total", "current", END),
        Reading("isolation.overdue", "overdue", END),
        Reading("cases.suspected.current", "suspected", END),
    ]
    for s in CASE_MILESTONES:
        out += _new_and_cumulative(f"cases.{s}", f"case:{s}")
    out += [
        Reading("cases.excluded.new", "excluded", FIRST),
        Reading("venues.closed.new", "venue.closed", FIRST),
        Reading("venues.reopened.new", "venue.reopened", FIRST),
        Reading("venues.closed.current", "closed", END),
    ]
    out += [Reading(f"venues.closed_by_type.{t}", f"closed_type:{t}", END) for t in VENUE_TYPES]
    out += [Reading(f"checkpoints.{f}", f"checkpoint:{f}", IN) for f in CHECKPOINT_FIELDS]
    return tuple(out)


@dataclass(frozen=True)
class Model:
    """The counters and readings of one deployment (its focus areas)."""

    areas: tuple[str, ...]

    @property
    def counters(self) -> tuple[Counter, ...]:
        return _counters(self.areas)

    @property
    def readings(self) -> tuple[Reading, ...]:
        return _readings(self.areas)

    def counter_id(self, name: str) -> int:
        """A counter's number in the store (1-based; stable for every counter
        but the focus areas, which come last)."""
        return [c.name for c in self.counters].index(name) + 1

    def ids(self) -> dict[str, int]:
        return {c.name: i for i, c in enumerate(self.counters, start=1)}


def bucket_of(us: int) -> int:
    return us // BUCKET_US


def window_buckets(start_us: int, end_us: int) -> tuple[int, int]:
    """A report window [start, end) as buckets [s, e): its bounds are whole hours."""
    if start_us % BUCKET_US or end_us % BUCKET_US:
        raise ValueError("a report window must start and end on whole hours (UTC offsets of whole hours)")
    return start_us // BUCKET_US, end_us // BUCKET_US


def counts(measure: Measure, bucket: int, gap: int, s: int, e: int) -> bool:
    """Whether a cell at (bucket, gap) counts towards a figure of `measure` for W = [s, e)."""
    if measure is Measure.BEFORE_END:
        return bucket < e
    if not s <= bucket < e:
        return False
    return measure is Measure.IN_W or bucket - gap < s


def read_figures(
    rows: Iterable[tuple[int, tuple[str, int, int, int], int]],
    model: Model,
    code: str,
    start_us: int,
    end_us: int,
    as_of_us: int,
) -> Figures:
    """The figures of `code` for W = [start, end) as of T from delta rows
    (stamp, (code, counter, bucket, gap), delta): the plain-Python form of the
    read the API makes in ClickHouse."""
    s, e = window_buckets(start_us, end_us)
    totals: dict[tuple[int, Measure], int] = defaultdict(int)
    measures = {m for m in Measure}
    for t, (c, counter, bucket, gap), delta in rows:
        if c != code or t > as_of_us:
            continue
        for m in measures:
            if counts(m, bucket, gap, s, e):
                totals[(counter, m)] += delta
    return figures_of(model, totals)


def figures_of(model: Model, totals: Mapping[tuple[int, Measure], int]) -> Figures:
    """The figures that read these sums ((counter id, measure) -> sum; 0 where
    absent): the one place a figure is read from its counter, for the daily
    report, the series and the reference of both."""
    figures = empty_figures(model.areas)
    for parents, leaf, key in _plan(model):
        node = figures
        for part in parents:
            node = node[part]
        node[leaf] = int(totals.get(key, 0))
    return figures


def values_of(model: Model, totals: Mapping[tuple[int, Measure], int]) -> dict[str, int]:
    """The same figures flat, by dotted name (the series' form)."""
    return {path: int(totals.get(key, 0)) for path, key in _flat_plan(model)}


@functools.cache
def _flat_plan(model: Model) -> tuple[tuple[str, tuple[int, Measure]], ...]:
    return tuple((".".join((*parents, leaf)), key) for parents, leaf, key in _plan(model))


@functools.cache
def _plan(model: Model) -> tuple[tuple[tuple[str, ...], str, tuple[int, Measure]], ...]:
    """Each reading as (its path's parents, its leaf, the sum it reads), worked out once."""
    ids = model.ids()
    out = []
    for r in model.readings:
        *parents, leaf = r.path.split(".")
        out.append((tuple(parents), leaf, (ids[r.counter], r.measure)))
    return tuple(out)


def set_path(figures: Figures, path: str, value: int) -> None:
    """Sets a dotted figure name in the nested figures (focus areas such as
    `4201` are keys, not nesting)."""
    node = figures
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[part]
    node[parts[-1]] = value
