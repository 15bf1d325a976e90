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
now (the default) reads none, and any read at most half an hour's. (Until
2026-12 the side was the nearer whole hour, so a live read at :29 read the
29 minutes since the hour one by one: 73 against 14 ms for a province's
counts query on the kept 1 M store, bench/results/now-side-1m.md.) Why the
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


def now_us() -> int:
    """The wall clock, in µs: the stamps' clock (ingest stamps recorded_at)."""
    return time.time_ns() // 1000


def params(
    codes: Sequence[str], start_us: int, end_us: int, as_of_us: int, now: int | None = None
) -> dict[str, Any]:
    """The codes, W's buckets, and the whole stamp hour and exact tail around
    T: the side of T with fewer stamps to read, none being after `now` (the
    wall clock unless given; only the cost depends on it, never the sums)."""
    s, e = window_buckets(start_us, end_us)
    before = as_of_us // HOUR_US
    after = -(-as_of_us // HOUR_US)
    latest = now_us() if now is None else now
    if as_of_us - before * HOUR_US <= max(0, min(after * HOUR_US, latest) - as_of_us):
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
) -> dict[str, Figures]:
    """The section 4 figures of each code (12 digits) for W as of T (`now`: see `params`)."""
    if not codes:
        return {}
    totals: dict[str, dict[tuple[int, Measure], int]] = {c: {} for c in codes}
    for code, counter, in_w, before_end, first_in_w in store.query(
        FIGURES_SQL, params(codes, start_us, end_us, as_of_us, now)
    ):
        found = totals.get(str(code).zfill(12))
        if found is not None:
            found[(counter, Measure.IN_W)] = in_w
            found[(counter, Measure.BEFORE_END)] = before_end
            found[(counter, Measure.FIRST_IN_W)] = first_in_w
    return {code: figures_of(model, t) for code, t in totals.items()}
