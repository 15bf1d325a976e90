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
S+ minus the exact deltas in (T, S+]: whichever side of T is shorter, so at
most half an hour of J's deltas is read one by one, and none for T = now
(nothing is stamped after now). Why the sums are the figures:
docs/design.md, "The counting model". The rows read are J's cells (figures x
hours x gaps x the few hours in which each hour's events were recorded), not
the events behind them.
"""

from __future__ import annotations

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


def params(codes: Sequence[str], start_us: int, end_us: int, as_of_us: int) -> dict[str, Any]:
    s, e = window_buckets(start_us, end_us)
    before = as_of_us // HOUR_US
    after = -(-as_of_us // HOUR_US)
    if as_of_us - before * HOUR_US <= after * HOUR_US - as_of_us:
        # the counts stamped by the hour before T, plus the deltas stamped since
        tail = {"stamp_hour": before, "sign": 1, "lo": before * HOUR_US, "hi": as_of_us}
    else:
        # the counts stamped by the hour after T, less the deltas stamped after T
        tail = {"stamp_hour": after, "sign": -1, "lo": as_of_us, "hi": after * HOUR_US}
    return {"codes": tuple(int(c) for c in codes), "s": s, "e": e, **tail}


def figures(
    store: Queryable, model: Model, codes: Sequence[str], start_us: int, end_us: int, as_of_us: int
) -> dict[str, Figures]:
    """The section 4 figures of each code (12 digits) for W as of T."""
    if not codes:
        return {}
    totals: dict[str, dict[tuple[int, Measure], int]] = {c: {} for c in codes}
    for code, counter, in_w, before_end, first_in_w in store.query(
        FIGURES_SQL, params(codes, start_us, end_us, as_of_us)
    ):
        found = totals.get(str(code).zfill(12))
        if found is not None:
            found[(counter, Measure.IN_W)] = in_w
            found[(counter, Measure.BEFORE_END)] = before_end
            found[(counter, Measure.FIRST_IN_W)] = first_in_w
    return {code: figures_of(model, t) for code, t in totals.items()}
