"""The SQL behind the 零报告 (contract section 5: every unit's status),
counted inside ClickHouse from the fold's fact rows
of one subtree (one key range), grouped by `grp`: the subtree itself
(digits = its significant digits) or each of its children (digits = the
children's), as the number intDiv(code, scale) with scale = 10^(12 - digits).
Parameters: lo, hi, scale, start, end, as_of, and per query
the names below. Every statement runs on ClickHouse 18.16 and current. The
daily figures (section 4) are sums of the counts (counts_sql.py), and a
daily report's own status reads the submission rows (reporting_sql.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

#: fact rows that count as of %(as_of)s: recorded by then, not a superseded
#: version of a resent event, not the target of a retraction recorded by then
#: (itself not a superseded version). A retraction of a retraction is void,
#: but needs no test here: `facts` holds no retraction, and a fact row that is
#: not superseded is the standing version of its event_id, so its event_id is
#: never that of a standing retraction. (Each subquery costs a few ms on 18.16:
#: three here, not five.)
VISIBLE = """
    recorded_us <= %(as_of)s
    AND (event_id, recorded_us) NOT IN (SELECT event_id, recorded_us FROM event_duplicates)
    AND event_id NOT IN (
        SELECT target_event_id FROM retractions
        WHERE recorded_us <= %(as_of)s
          AND (event_id, recorded_us) NOT IN (SELECT event_id, recorded_us FROM event_duplicates)
    )"""

SUBTREE = "jurisdiction >= %(lo)s AND jurisdiction <= %(hi)s"
#: the group of a row: its code's first digits, as a number (faster to group
#: and join than strings): intDiv(code, 10^(12 - digits))
GROUP = "intDiv(toUInt64(jurisdiction), %(scale)s) AS grp"
IN_W = "occurred_us >= %(start)s AND occurred_us < %(end)s"


def _q(name: str) -> str:
    return "'" + name.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass(frozen=True)
class Family:
    """One query: a figure family's values per group."""

    name: str
    values: tuple[str, ...]
    #: everything after the SELECT list: FROM ... GROUP BY grp
    body: str
    #: how the SELECT list names the group (computed here, or by a subquery)
    group: str = "grp"

    def sql(self) -> str:
        return f"SELECT {self.group}, {', '.join(self.values)}\n{self.body}"


#: the rows that submit for date D (contract section 5): zero reports for D, and
#: every other event (facts hold no retractions) that occurred in W
_SUBMITS = f"((kind = 'report.zero' AND attr = %(day)s) OR (kind != 'report.zero' AND {IN_W}))"

#: the level boundaries of the codes (village .. country), as scales: a code's
#: ancestor-or-self at a level is intDiv(code, scale) * scale
SCALES = (1, 10**3, 10**6, 10**8, 10**10, 10**12)


def contradicted(scale: int) -> str:
    """Whether a group of `scale` (10^(12 - digits)) holds a contradicted zero
    report (contract section 5): a zero report for D from a jurisdiction Z while
    another submitting event, not a zero report, is attributed to Z or one of
    its descendants. (A second zero report in Z's subtree says the same thing,
    and contradicts nothing.)

    A code A lies in Z's subtree exactly when Z is A's ancestor-or-self at one of
    the level boundaries: intDiv(A, s) * s = Z, s being Z's own scale. Inside a
    group, Z is the group's own code (then any other submission in the group
    contradicts it: two counts), a code at a level between the group's and the
    village's (Z meets the ancestors at that level of the other submissions'
    codes), or the code of the event itself (Z is one of those codes: the set of
    the group's zero-report codes meets the set of its other codes). One pass,
    two sets per group and one hashed intersection, never a range test per pair.
    A village group is a single code: its zero reports and other events share it,
    and the counts suffice (the sets would cost ~40% of the national 零报告 on
    18.16). Note: 18.16's arrayIntersect miscounts an element repeated within
    one array, so both of its arrays are sets."""
    zero, other = "kind = 'report.zero'", "kind != 'report.zero'"
    own = f"countIf({other}) > 0 AND countIf({zero}) > 0"
    if scale == 1:
        return own
    code = "toUInt64(jurisdiction)"
    at_group = f"(countIf({zero} AND modulo({code}, {scale}) = 0) > 0 AND countIf({other}) > 0)"
    others = f"groupUniqArrayIf({code}, {other})"
    between = [s for s in SCALES if 1 < s < scale]
    if between:
        ancestors = ", ".join(f"arrayMap(a -> intDiv(a, {s}) * {s}, other_codes)" for s in between)
        others = f"arrayDistinct(arrayConcat({others} AS other_codes, {ancestors}))"
    return f"(notEmpty(arrayIntersect(groupUniqArrayIf({code}, {zero}), {others})) OR {at_group})"


def reporting(scale: int) -> Family:
    """Per group: first submission time, whether any submission is not a zero
    report, whether any is one, whether it holds a contradicted zero report
    (see `contradicted`). The submitting rows are a day's among a subtree's
    every day: PREWHERE selects them before the visibility subqueries look at
    them (a province's 零报告: ~40% less CPU on 18.16)."""
    return Family(
        "reporting",
        (
            "min(recorded_us) AS first_us",
            "countIf(kind != 'report.zero') > 0 AS activity",
            "countIf(kind = 'report.zero') > 0 AS zero_reported",
            f"{contradicted(scale)} AS zero_contradicted",
        ),
        f"""
FROM facts
PREWHERE {SUBTREE} AND {_SUBMITS}
WHERE {VISIBLE}
GROUP BY grp""",
        group=GROUP,
    )


def _array(items: Sequence[str]) -> str:
    return "[" + ", ".join(_q(i) for i in items) + "]"


def units_sql(scale: int) -> str:
    """Every unit of a level (of `scale`) in the subtree that exists on %(day)s,
    with its status and whether it holds a contradicted zero report."""
    return f"""
SELECT code, name, grp, first_us,
    multiIf(first_us = 0, 'missing', first_us > %(deadline)s, 'late',
            activity = 1, 'reported', 'zero_reported') AS status,
    zero_contradicted = 1 AS contradicted
FROM (
    SELECT code, name, intDiv(toUInt64(code), %(scale)s) AS grp
    FROM divisions
    WHERE level = %(level)s AND code >= %(lo)s AND code <= %(hi)s
      AND valid_from <= toDate(%(day)s) AND valid_to > toDate(%(day)s)
) AS u
ANY LEFT JOIN ({reporting(scale).sql()}) AS s USING grp"""


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
def zero_sql(scale: int) -> str:
    """Counts per status, units holding a contradicted zero report, the units
    matching %(statuses)s, and one page of them ordered by code: one pass over
    the join. The page is three arrays of numbers (group, status, first
    submission), not tuples with names: sorting 620 k (code, name, ...) tuples
    took more than half of the national 零报告; the page's names are a look-up
    by code after."""
    return f"""
SELECT count(), countIf(status = 'reported'), countIf(status = 'zero_reported'),
    countIf(status = 'late'), countIf(status = 'missing'), countIf(contradicted),
    countIf({_MATCH}),
    arraySlice(arraySort(groupArrayIf(grp, {_MATCH})), %(offset)s + 1, %(limit)s),
    {_page(f"indexOf({_array(STATUSES)}, status)")},
    {_page("first_us")}
FROM ({units_sql(scale)})"""


#: the names of a page's units
NAMES_SQL = "SELECT code, any(name) FROM divisions WHERE code IN %(codes)s GROUP BY code"
