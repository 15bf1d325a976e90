"""The SQL behind the daily figures (contract section 4): sums of the deltas
the aggregator maintains (migration 011; the model in
services/common/counting.py, the deltas in services/aggregator/contributions.py).

For codes C, W = [s, e) in hour buckets and as of T, one row per (code,
counter) with the three measures a figure can read (`Reading`):

- `in_w`: the deltas with s <= bucket < e;
- `before_end`: the deltas with bucket < e;
- `first_in_w`: those of `in_w` whose subject had no earlier bucket in W
  (bucket - gap < s).

Only deltas stamped t <= T count. `counts` holds them summed per hour of the
stamp rounded up (`stamp_hour`), so its rows with stamp_hour <= S are exactly
the deltas stamped by the whole hour S; `counts_exact` holds each delta with
its stamp, ordered by (code, t). With S- and S+ the whole hours around T,
either the rows up to S- plus the exact deltas in (S-, T], or the rows up to
S+ minus the exact deltas in (T, S+]: both give the same sums, and the read
takes the side with fewer deltas to read one by one. Nothing is stamped after
now, so the side after T holds the deltas in (T, min(S+, now)]: a read as of
now (the default) reads none. A read as of an earlier moment counts the
stamps on each side (`stamp_sides`) and takes the side with fewer. (Until
2026-12 the side was the nearer whole hour, so a live read at :29 read the
29 minutes since the hour one by one: 73 against 14 ms for a province's
counts query on the kept 1 M store, bench/results/now-side-1m.md; then the
side with less time to now, which read a burst stamped minutes before T.) Why the
sums are the figures:
docs/design.md, "The counting model". The rows read are J's cells (figures x
hours x gaps x the few hours in which each hour's events were recorded), not
the events behind them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from services.api.store import Queryable
from services.common.counting import Measure, Model, figures_of, window_buckets
from services.common.figures import Figures

HOUR_US = 3_600_000_000

FIGURES_SQL = """
SELECT code, counter,
    sumIf(delta, bucket >= %(s)s) AS in_w,
    sum(delta) AS before_end,
    sumIf(delta, bucket >= %(s)s AND bucket - gap < %(s)s) AS first_in_w
FROM (
    SELECT code, counter, bucket, gap, delta FROM counts
    WHERE code IN %(codes)s AND bucket < %(e)s AND stamp_hour <= %(stamp_hour)s
    UNION ALL
    SELECT code, counter, bucket, gap, %(sign)s * delta FROM counts_exact
    WHERE code IN %(codes)s AND t > %(lo)s AND t <= %(hi)s AND bucket < %(e)s
)
GROUP BY code, counter"""


def whole_hours(as_of_us: int) -> tuple[int, int]:
    """The stamp hours around T: the last whole hour at or before it and the
    first at or after it (equal when T is a whole hour)."""
    return as_of_us // HOUR_US, -(-as_of_us // HOUR_US)


def now_us() -> int:
    """The wall clock, in µs: the stamps' clock (ingest stamps recorded_at)."""
    return time.time_ns() // 1000


#: how many stamps lie in (S-, T] and in (T, min(S+, now)], each counted up to
#: %(cap)s: `submissions_stamps` (migration 018) holds every stamp of the
#: events' submission rows, at which their deltas are stamped too. A read as
#: of an earlier moment of an hour in which a burst was stamped took the side
#: holding the burst: the nearer whole hour's (bench/results/final-s12-10m.md,
#: a province as of an hour ago, 2 s)
SIDES_SQL = """
SELECT
    (SELECT count() FROM (
        SELECT t FROM submissions_stamps WHERE t > %(below)s AND t <= %(as_of)s LIMIT %(cap)s)),
    (SELECT count() FROM (
        SELECT t FROM submissions_stamps WHERE t > %(as_of)s AND t <= %(above)s LIMIT %(cap)s))"""
SIDE_CAP = 1_000_000
#: counted first: when one side holds fewer, that is all a read needs to know
#: (a live read's side after T holds the few stamps since T, its side before
#: up to an hour's: counting those to the cap cost a live report ~10 ms)
FIRST_CAP = 10_000
#: a side spanning less time is taken without counting: the count costs a
#: query (10-18 ms on 18.16, whatever the cap), about what reading ten
#: seconds of a busy province's deltas costs; a live read's side after T
#: spans the few ms since the request
PROBE_MIN_US = 10_000_000


def stamp_sides(store: Queryable, as_of_us: int, now: int) -> tuple[int, int] | None:
    """The stamps on each side of T within its hour (SIDES_SQL), each counted
    up to FIRST_CAP, and again up to SIDE_CAP when both reach it; or None when
    a side spans less than PROBE_MIN_US (T at or near now, or at or near a
    whole hour): then the side with less time is read, uncounted."""
    before, after = whole_hours(as_of_us)
    below, above = before * HOUR_US, min(after * HOUR_US, now)
    if min(as_of_us - below, above - as_of_us) < PROBE_MIN_US:
        return None
    for cap in (FIRST_CAP, SIDE_CAP):
        row = store.query(SIDES_SQL, {"below": below, "as_of": as_of_us, "above": above, "cap": cap})[0]
        before, after = int(row[0]), int(row[1])
        if min(before, after) < cap:
            break
    return before, after


def params(
    codes: Sequence[str],
    start_us: int,
    end_us: int,
    as_of_us: int,
    now: int | None = None,
    sides: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """The codes, W's buckets, and the whole stamp hour and exact tail around
    T: the side of T with fewer stamps to read, none being after `now` (the
    wall clock unless given). `sides`, the stamps counted on each side
    (stamp_sides), decides when given and not both at the cap; else the side
    with less time to now. Only the cost depends on the side, never the sums."""
    s, e = window_buckets(start_us, end_us)
    before, after = whole_hours(as_of_us)
    latest = now_us() if now is None else now
    if sides is not None and min(sides) < SIDE_CAP:
        take_before = sides[0] <= sides[1]
    else:
        take_before = as_of_us - before * HOUR_US <= max(0, min(after * HOUR_US, latest) - as_of_us)
    if take_before:
        # the counts stamped by the hour before T, plus the deltas stamped since
        tail = {"stamp_hour": before, "sign": 1, "lo": before * HOUR_US, "hi": as_of_us}
    else:
        # the counts stamped by the hour after T, less the deltas stamped after T
        tail = {"stamp_hour": after, "sign": -1, "lo": as_of_us, "hi": after * HOUR_US}
    return {"codes": tuple(int(c) for c in codes), "s": s, "e": e, **tail}


def figures(
    store: Queryable,
    model: Model,
    codes: Sequence[str],
    start_us: int,
    end_us: int,
    as_of_us: int,
    now: int | None = None,
    sides: tuple[int, int] | None = None,
) -> dict[str, Figures]:
    """The section 4 figures of each code (12 digits) for W as of T (`now`,
    `sides`: see `params`)."""
    if not codes:
        return {}
    totals: dict[str, dict[tuple[int, Measure], int]] = {c: {} for c in codes}
    for code, counter, in_w, before_end, first_in_w in store.query(
        FIGURES_SQL, params(codes, start_us, end_us, as_of_us, now, sides)
    ):
        found = totals.get(str(code).zfill(12))
        if found is not None:
            found[(counter, Measure.IN_W)] = in_w
            found[(counter, Measure.BEFORE_END)] = before_end
            found[(counter, Measure.FIRST_IN_W)] = first_in_w
    return {code: figures_of(model, t) for code, t in totals.items()}
