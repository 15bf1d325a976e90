"""The SQL behind a daily report's reporting status (contract section 5):
reads of the submission rows the aggregator maintains (migration 014; the
model in services/common/submissions.py, the rows in
services/aggregator/contributions.py `submissions`).

For codes C, W = [s, e) in hour buckets, date D and as of T, three reads:

- `STATUS_SQL`: per (code, counter, minute of submission time), the rows
  stamped <= T summed, kept where positive: the ACTIVITY rows with bucket in
  W and the ZERO rows of D. A code submitted iff it has such a minute; the
  least one holds its submission time. `submissions` holds the rows summed
  per hour of the stamp rounded up, `submissions_exact` each row with its
  stamp: as in counts_sql.py, the whole hours on the nearer side of T plus
  or minus the exact rows between T and that hour.
- `FIRST_SQL`: the exact submission time within that minute: the rows of
  the minute's submission times stamped <= T, summed per time, the least
  positive. A row is stamped either at its submission time (an event
  counted from then) or after it (a retraction's -1, in the small
  `submissions_until` table, by submission time).
- `CANDIDATES_SQL`, then `LATER_SQL`: the codes Z of the subtree with a
  positive OWN_ZERO sum for D (their own zero reports standing) and a
  positive ACTIVITY sum in W (an event of Z's subtree submitting): the
  contradicted zero reports. From `submissions_by_bucket` (ordered by bucket,
  so the zero-reporting codes looked up in one bucket share granules) summed
  by the whole hour on the read's side of T; the codes with rows stamped in
  the hour around T (its `n`, never cancelled) add or take off their exact
  rows between T and that hour, as the counts do, unless `submissions_stamps`
  holds no stamp there (`STAMPED_SQL`: then every such sum is 0).

Why the sums are the statuses: services/common/submissions.py. The first two
read the few rows of the codes asked for (the tables are ordered by code
first); the third reads the day's zero reports of the subtree and, for their
codes only, W's activity rows: it grows with the units that send zero
reports, not with the events.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import Executor
from typing import Any

from schemas import codes as division
from services.api import counts_sql
from services.api.errors import StoreUnavailable
from services.api.store import Queryable
from services.common.submissions import ACTIVITY, MINUTE_US, OWN_ZERO, ZERO, Submitted, day_number

_SUBMITS = (
    f"((counter = {ACTIVITY} AND bucket >= %(s)s AND bucket < %(e)s)"
    f" OR (counter = {ZERO} AND bucket = %(day)s))"
)

STATUS_SQL = f"""
SELECT code, counter, rec_minute, sum(delta) AS n
FROM (
    SELECT code, counter, rec_minute, delta FROM submissions
    WHERE {_SUBMITS} AND code IN %(codes)s AND stamp_hour <= %(stamp_hour)s
    UNION ALL
    SELECT code, counter, toInt32(intDiv(rec, {MINUTE_US})) AS rec_minute, %(sign)s * delta
    FROM submissions_exact
    WHERE {_SUBMITS} AND code IN %(codes)s AND t > %(lo)s AND t <= %(hi)s
)
GROUP BY code, counter, rec_minute
HAVING n > 0"""

#: codes with own zero reports for D in the subtree (stamped by the hour after
#: T), and for each: its own-zero and activity sums stamped by the whole hour
#: on the read's side of T (counts_sql.params), and how many rows it has
#: stamped in the hour around T (`later`)
CANDIDATES_SQL = f"""
SELECT code,
    sumIf(delta, counter = {OWN_ZERO} AND stamp_hour <= %(stamp_hour)s) AS zero_side,
    sumIf(delta, counter = {ACTIVITY} AND stamp_hour <= %(stamp_hour)s) AS active_side,
    sumIf(n, stamp_hour > %(below)s) AS later
FROM submissions_by_bucket
WHERE stamp_hour <= %(above)s
  AND ((counter = {OWN_ZERO} AND bucket = %(day)s AND code >= %(sub_lo)s AND code <= %(sub_hi)s)
       OR (counter = {ACTIVITY} AND bucket >= %(s)s AND bucket < %(e)s AND code IN (
            SELECT code FROM submissions_by_bucket
            WHERE counter = {OWN_ZERO} AND bucket = %(day)s AND code >= %(sub_lo)s AND code <= %(sub_hi)s
              AND stamp_hour <= %(above)s)))
GROUP BY code"""

#: whether any activity or own zero-report row is stamped between T and that
#: hour (migration 018): LATER_SQL reads the same few granules of each code
#: whether or not one is, 110-170 ms for a province's 1,224 zero-reporting
#: villages on the 1 M bench store, and a read as of now takes the side after
#: T, where nothing is stamped yet; the first stamp found answers it
STAMPED_SQL = "SELECT t FROM submissions_stamps WHERE t > %(lo)s AND t <= %(hi)s LIMIT 1"

#: for those codes, the exact rows between T and that hour: added (stamped
#: since the hour before T, up to T) or taken off (stamped after T, up to the
#: hour after it); a read as of now takes the side after T, which holds none.
#: The codes come as one array (`later_codes`, a list): ClickHouse 18.16
#: parses an IN list of 5,880 literals in about 60 ms, an array in a few
#: (a province's live read: 219-242 -> 152-180 ms for this query)
LATER_SQL = f"""
SELECT code,
    sumIf(delta, counter = {OWN_ZERO}) * %(sign)s AS zero_later,
    sumIf(delta, counter = {ACTIVITY}) * %(sign)s AS active_later
FROM submissions_exact
WHERE code IN (SELECT arrayJoin(%(later_codes)s))
  AND ((counter = {OWN_ZERO} AND bucket = %(day)s)
       OR (counter = {ACTIVITY} AND bucket >= %(s)s AND bucket < %(e)s))
  AND t > %(lo)s AND t <= %(hi)s
GROUP BY code"""


#: per code, the least submission time of its first minute whose rows summed
#: as of %(as_of)s are positive: one row per code (a province's first minute of
#: a busy run held 131,500 submission times, which the server reduces, not the
#: API). The minutes come as two arrays (`first_codes` -> `first_minutes`, by
#: `transform`) and the codes as a tuple for the key: an OR of one
#: (code AND minute) condition per code took 45-50 against 25 ms for a county
#: with its 13 towns on the kept 1 M store (bench/results/merged-children-1m.md)
FIRST_SQL = f"""
SELECT code, min(rec) AS first
FROM (
    SELECT code, rec, sum(delta) AS n
    FROM (
        SELECT code, rec, delta FROM submissions_exact
        WHERE {_SUBMITS} AND code IN %(first_in)s AND t = rec AND t <= %(as_of)s
          AND intDiv(t, {MINUTE_US}) = transform(code, %(first_codes)s, %(first_minutes)s, toInt64(-1))
        UNION ALL
        SELECT code, rec, delta FROM submissions_until
        WHERE {_SUBMITS} AND code IN %(first_in)s AND t <= %(as_of)s
          AND intDiv(rec, {MINUTE_US}) = transform(code, %(first_codes)s, %(first_minutes)s, toInt64(-1))
    )
    GROUP BY code, rec
    HAVING n > 0
)
GROUP BY code"""


def first_params(minutes: dict[int, int]) -> dict[str, Any]:
    """FIRST_SQL's parameters for these first minutes (code -> minute)."""
    ordered = sorted(minutes)
    return {
        "first_in": tuple(ordered),
        "first_codes": ordered,
        "first_minutes": [minutes[code] for code in ordered],
    }


def params(
    group_codes: Sequence[str],
    start_us: int,
    end_us: int,
    day: str,
    as_of_us: int,
    scope: str,
    now: int | None = None,
    sides: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """The reads' parameters: `group_codes` (12 digits) the codes whose
    statuses are read, of any levels in `scope`'s subtree (a report's own code
    and its children's, read at once); `scope` the subtree the contradiction
    check reads; `now` and `sides` as in counts_sql.params."""
    sub_lo, sub_hi = division.subtree_range(scope)
    below, above = counts_sql.whole_hours(as_of_us)
    return {
        # codes, the window's buckets s and e, and the stamp hour and exact tail around T
        **counts_sql.params(group_codes, start_us, end_us, as_of_us, now, sides),
        "day": day_number(day),
        "as_of": as_of_us,
        "below": below,
        "above": above,
        "sub_lo": int(sub_lo),
        "sub_hi": int(sub_hi),
    }


#: per level's significant digits d, 10^(12 - d): the codes of a code's subtree share code // scale
_SCALES: dict[int, int] = {d: 10 ** (12 - d) for d in division.DIGITS.values()}


def _scale(code: int) -> int:
    return _SCALES[len(division.significant(str(code).zfill(12)))]


def statuses(store: Queryable, p: dict[str, Any], beside: Executor) -> dict[str, Submitted]:
    """Per code of p["codes"] (12 digits): its submission as of T. The
    contradiction check runs on `beside` (its tasks wait for nothing), and
    only when some code has both zero reports and other submissions: a
    contradicted zero report in a code's subtree makes both of its own."""
    minutes: dict[int, int] = {}
    kinds: dict[int, set[int]] = defaultdict(set)
    for code, counter, minute, _n in store.query(STATUS_SQL, p):
        kinds[code].add(counter)
        if code not in minutes or minute < minutes[code]:
            minutes[code] = minute
    both = any(k >= {ACTIVITY, ZERO} for k in kinds.values())
    groups = beside.submit(contradicted, store, p) if both else None
    firsts: dict[int, int] = {}
    if minutes:
        for code, rec in store.query(FIRST_SQL, {**p, **first_params(minutes)}):
            firsts[code] = rec
    held = groups.result() if groups is not None else set()
    # a code's subtree holds a contradicted zero report: grouped per scale of
    # the codes asked for (one or two: a report's own and its children's)
    scales = {code: _scale(code) for code in p["codes"]}
    wrong = {(scale, z // scale) for scale in set(scales.values()) for z in held}
    out = {}
    for code in p["codes"]:
        first = firsts.get(code)
        if code in minutes and first is None:
            # the views file a recount's rows table by table, `submissions_exact`
            # before `submissions`: only a read beside a retraction being filed
            raise StoreUnavailable(f"submissions of {code}: minute {minutes[code]} read while being filed")
        out[str(code).zfill(12)] = Submitted(
            first, ACTIVITY in kinds[code], ZERO in kinds[code], (scales[code], code // scales[code]) in wrong
        )
    return out


def contradicted(store: Queryable, p: dict[str, Any]) -> set[int]:
    """The codes of the subtree whose own zero reports are contradicted. The
    codes with own zero reports, with their sums stamped by the whole hour
    before T (`submissions_by_bucket`); for the few with rows stamped in the
    hour around T, their exact rows between T and the whole hour of the
    read's side (counts_sql.params), when any row is stamped there."""
    sums: dict[int, list[int]] = {}
    later: list[int] = []
    for code, zero, active, n in store.query(CANDIDATES_SQL, p):
        sums[code] = [zero, active]
        if n:
            later.append(code)
    # asked after the sums were read: a row filed since is either in neither
    # read or seen here, and then read exactly (as it would be without this)
    if later and store.query(STAMPED_SQL, p):
        for code, zero, active in store.query(LATER_SQL, {**p, "later_codes": later}):
            sums[code][0] += zero
            sums[code][1] += active
    return {code for code, (zero, active) in sums.items() if zero > 0 and active > 0}
