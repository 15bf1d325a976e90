"""The SQL behind a series (contract section 6, `GET /v1/reports/series`): the
section 4 figures of one jurisdiction J for consecutive report windows
W_1 .. W_n, as of T, in ONE query over the same counts as the daily report
(counts_sql.py, whose as-of tail it shares).

Consecutive dates with one cutoff give consecutive windows (W_d ends where
W_d+1 starts), all on whole hours. Each delta row of J with bucket < end of
W_n is given the index d of the window holding its bucket (0: before W_1),
and the query returns, per (counter, d):

- `in_w`: the sum of the deltas in W_d (the IN_W measure of W_d);
- `first_in_w`: those whose subject had no earlier bucket in W_d
  (bucket - gap < start of W_d: the FIRST_IN_W measure).

BEFORE_END of W_d is the running sum of `in_w` over indices 0..d: every delta
with bucket < end of W_d, counted once. So the three measures of every
date, hence every figure, are the daily report's own sums (docs/design.md,
"The counting model"), read by the same readings (`counting.values_of`, the flat form of
`figures_of`). The rows
returned are at most (counters x (n + 1)), whatever J's size.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from services.api import counts_sql
from services.api.store import Queryable
from services.common.counting import BUCKET_US, Measure, Model, values_of

_SERIES_SQL = """
SELECT counter, idx, sum(delta) AS in_w,
    sumIf(delta, idx > 0 AND bucket - gap < %(starts)s[idx]) AS first_in_w
FROM (
    SELECT counter, bucket, gap, delta, {index} AS idx
    FROM (
        SELECT counter, bucket, gap, delta FROM counts
        WHERE code = %(code)s AND bucket < %(e)s AND stamp_hour <= %(stamp_hour)s
        UNION ALL
        SELECT counter, bucket, gap, %(sign)s * delta FROM counts_exact
        WHERE code = %(code)s AND t > %(lo)s AND t <= %(hi)s AND bucket < %(e)s
    )
)
GROUP BY counter, idx"""
#: windows of one length (`hours`; every date in a zone without summer time):
#: the index is arithmetic
EVEN_SQL = _SERIES_SQL.format(index="if(bucket < %(s)s, 0, intDiv(bucket - %(s)s, %(hours)s) + 1)")
#: windows of 23, 24 or 25 hours (a change to or from summer time): the index
#: counts the window starts at or before the bucket (4x slower at 30 dates)
UNEVEN_SQL = _SERIES_SQL.format(index="arrayCount(x -> x <= bucket, %(starts)s)")


def params(
    code: str,
    starts_us: Sequence[int],
    end_us: int,
    as_of_us: int,
    now: int | None = None,
    sides: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """The windows [starts[0], starts[1]), ..., [starts[-1], end) as of T
    (`now`, `sides`: see counts_sql.params)."""
    base = counts_sql.params([code], starts_us[0], end_us, as_of_us, now, sides)
    del base["codes"]
    bounds = [*starts_us, end_us]
    if any(b % BUCKET_US for b in bounds):
        raise ValueError("report windows must start and end on whole hours")
    lengths = {(b - a) // BUCKET_US for a, b in itertools.pairwise(bounds)}
    return {
        **base,
        "code": int(code),
        "starts": [b // BUCKET_US for b in starts_us],
        "hours": lengths.pop() if len(lengths) == 1 else 0,
    }


def sql(p: dict[str, Any]) -> str:
    return EVEN_SQL if p["hours"] else UNEVEN_SQL


def fold(rows: Sequence[tuple[int, int, int, int]], model: Model, windows: int) -> list[dict[str, int]]:
    """The figures of each window, by dotted name, from the query's (counter,
    d, in_w, first_in_w) rows: pure, and the whole of the series' arithmetic."""
    in_w: dict[int, dict[int, int]] = defaultdict(dict)
    first: dict[int, dict[int, int]] = defaultdict(dict)
    for counter, d, sum_in, sum_first in rows:
        in_w[d][counter] = int(sum_in)
        first[d][counter] = int(sum_first)
    running: dict[int, int] = dict(in_w.get(0, {}))
    out = []
    for d in range(1, windows + 1):
        totals: dict[tuple[int, Measure], int] = {}
        for counter, value in in_w.get(d, {}).items():
            running[counter] = running.get(counter, 0) + value
            totals[(counter, Measure.IN_W)] = value
        for counter, value in first.get(d, {}).items():
            totals[(counter, Measure.FIRST_IN_W)] = value
        for counter, value in running.items():
            totals[(counter, Measure.BEFORE_END)] = value
        out.append(values_of(model, totals))
    return out


def figures(
    store: Queryable,
    model: Model,
    code: str,
    starts_us: Sequence[int],
    end_us: int,
    as_of_us: int,
    now: int | None = None,
) -> list[dict[str, int]]:
    """The section 4 figures of `code` (12 digits) for each window, as of T, by dotted name."""
    now = counts_sql.now_us() if now is None else now
    p = params(code, starts_us, end_us, as_of_us, now, counts_sql.stamp_sides(store, as_of_us, now))
    rows = store.query(sql(p), p)
    return fold([(int(c), int(d), int(i), int(f)) for c, d, i, f in rows], model, len(starts_us))
