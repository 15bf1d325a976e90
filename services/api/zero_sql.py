"""The SQL behind the 零报告 (contract section 5: the status of every unit of
one level under J, for date D, as of T), counted and listed inside ClickHouse
from the submission rows the aggregator maintains (migration 019,
`submissions_by_level`; the model in services/common/submissions.py).

Each standing event adds, at every ancestor A of its jurisdiction, +1 stamped
at its submission time `rec` and -1 stamped when it stops standing, under
ACTIVITY with its occurred hour as bucket, or ZERO with the day number of
its `report_date`. So a unit U submitted for D as of T exactly when some key
(U, counter, rec) of its ACTIVITY rows in W's buckets or its ZERO rows of D,
summed over the rows stamped <= T, is positive; its submission time is the
least such `rec`, and it `reported` when one of them is ACTIVITY.
Duplicates, versions and retractions are resolved by the aggregator before
the rows are filed, and the sums do not depend on the order in which the rows
were filed. The rows of one level, counter, province and bucket are
contiguous: a read takes the rows of W's 24 buckets and of D, a day's rows,
whatever the history (the subtree's own rows are then a code range).

Units holding a contradicted zero report come from the daily report's check
(reporting_sql.contradicted), which reads the day's zero-reporting codes,
run beside the main query; `CONTRADICTED_SQL` counts the units of the
level among those it found. Parameters: lo, hi (numbers), lo_code, hi_code,
p_lo, p_hi (provinces), digits, scale, level, day (YYYY-MM-DD), day_number,
s, e, as_of, deadline, statuses, limit, offset; `wrong` (12-digit codes) for
CONTRADICTED_SQL. Every statement runs on ClickHouse 18.16 and current.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from services.common.submissions import ACTIVITY, ZERO


def _q(name: str) -> str:
    return "'" + name.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _array(items: Sequence[str]) -> str:
    return "[" + ", ".join(_q(i) for i in items) + "]"


#: the rows of the level's units in the subtree that submit for D, stamped <= T
_ROWS = f"""
    FROM submissions_by_level
    WHERE digits = %(digits)s AND province >= %(p_lo)s AND province <= %(p_hi)s
      AND ((counter = {ACTIVITY} AND bucket >= %(s)s AND bucket < %(e)s)
           OR (counter = {ZERO} AND bucket = %(day_number)s))
      AND code >= %(lo)s AND code <= %(hi)s AND t <= %(as_of)s"""

#: per unit of the level (its code as the number `grp`), the least submission
#: time standing as of T and whether an activity row stands; units with none
#: are absent. A key (code, counter, rec) stands when its rows sum to more
#: than 0, and only a -1 row (an event retracted or superseded by T) can
#: bring a key to 0: a unit without one has every key standing, and is read
#: in one pass; the few with one sum each key. Summing every unit's keys took
#: 866 against 270 ms for the 1.09 M rows of bench.zero_scale's national day
SUBMITTED_SQL = f"""
SELECT grp, first_us, activity
FROM (
    SELECT intDiv(code, %(scale)s) AS grp, min(rec) AS first_us, max(counter = {ACTIVITY}) AS activity,
        countIf(delta < 0) AS cancels
    {_ROWS}
    GROUP BY grp
)
WHERE cancels = 0
UNION ALL
SELECT grp, min(rec) AS first_us, max(counter = {ACTIVITY}) AS activity
FROM (
    SELECT intDiv(code, %(scale)s) AS grp, counter, rec, sum(delta) AS n
    {_ROWS}
      AND code IN (SELECT code {_ROWS} AND delta < 0)
    GROUP BY grp, counter, rec
    HAVING n > 0
)
GROUP BY grp"""


def units_sql() -> str:
    """Every unit of the level in the subtree that exists on %(day)s, with its status."""
    return f"""
SELECT code, grp, first_us,
    multiIf(first_us = 0, 'missing', first_us > %(deadline)s, 'late',
            activity = 1, 'reported', 'zero_reported') AS status
FROM (
    SELECT code, intDiv(toUInt64(code), %(scale)s) AS grp
    FROM divisions
    WHERE level = %(level)s AND code >= %(lo_code)s AND code <= %(hi_code)s
      AND valid_from <= toDate(%(day)s) AND valid_to > toDate(%(day)s)
) AS u
ANY LEFT JOIN ({SUBMITTED_SQL}) AS s USING grp"""


#: how many units of the level that exist on %(day)s are among %(wrong)s (the
#: units holding a contradicted zero report), counted as units_sql lists them
CONTRADICTED_SQL = """
SELECT count() FROM divisions
WHERE level = %(level)s AND code IN %(wrong)s
  AND valid_from <= toDate(%(day)s) AND valid_to > toDate(%(day)s)"""


#: the unit statuses, numbered from 1 in zero_sql's page
STATUSES = ("reported", "zero_reported", "late", "missing")
_MATCH = "status IN %(statuses)s"


def _page(values: str) -> str:
    """One page of `values` of the units matching %(statuses)s, in code order."""
    return (
        f"arraySlice(arraySort((v, g) -> g, groupArrayIf({values}, {_MATCH}), groupArrayIf(grp, {_MATCH})), "
        "%(offset)s + 1, %(limit)s)"
    )


@cache
def zero_sql() -> str:
    """Counts per status, the units
    matching %(statuses)s, and one page of them ordered by code: one pass over
    the join. The page is three arrays of numbers (group, status, first
    submission), not tuples with names: sorting 620 k (code, name, ...) tuples
    took more than half of the national 零报告; the page's names are a look-up
    by code after."""
    return f"""
SELECT count(), countIf(status = 'reported'), countIf(status = 'zero_reported'),
    countIf(status = 'late'), countIf(status = 'missing'),
    countIf({_MATCH}),
    arraySlice(arraySort(groupArrayIf(grp, {_MATCH})), %(offset)s + 1, %(limit)s),
    {_page(f"indexOf({_array(STATUSES)}, status)")},
    {_page("first_us")}
FROM ({units_sql()})"""


#: the names of a page's units
NAMES_SQL = "SELECT code, any(name) FROM divisions WHERE code IN %(codes)s GROUP BY code"
