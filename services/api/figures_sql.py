"""The SQL behind the daily figures (contract section 4) and a unit's
reporting status (section 5), counted inside ClickHouse from the fold's fact
rows of one subtree (one key range), grouped by `grp`: the subtree itself
(digits = its significant digits) or each of its children (digits = the
children's), as the number intDiv(code, scale) with scale = 10^(12 - digits).
Parameters: lo, hi, scale, start, end, as_of, and per query
the names below. Every statement runs on ClickHouse 18.16 and current."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.common.figures import CASE_MILESTONES, CATEGORIES, CHECKPOINT_FIELDS, MODES, VENUE_TYPES

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
BEFORE_END = "occurred_us < %(end)s"
#: the latest event of a subject: by occurred, then recorded, then event_id
LATEST = "(occurred_us, recorded_us, event_id)"


def _q(name: str) -> str:
    return "'" + name.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _earliest(name: str, condition: str) -> tuple[str, tuple[str, str]]:
    """(inner, (new, cumulative)) SQL for persons whose earliest row matching
    `condition` is in W (new) and before W's end (cumulative)."""
    inner = f"minIf(occurred_us, {condition}) AS f_{name}, countIf({condition}) > 0 AS h_{name}"
    new = f"countIf(h_{name} AND f_{name} >= %(start)s AND f_{name} < %(end)s)"
    return inner, (new, f"countIf(h_{name} AND f_{name} < %(end)s)")


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

    def tagged(self) -> str:
        """The same as (family, grp, [values as UInt64]) rows, for UNION ALL."""
        values = ", ".join(f"toUInt64({v})" for v in self.values)
        return f"SELECT {_q(self.name)} AS family, {self.group}, [{values}] AS vals\n{self.body}"


CHECKPOINTS = Family(
    "checkpoints",
    tuple(f"sumIf(v, attr = {_q(f)})" for f in CHECKPOINT_FIELDS),
    f"""
FROM (
    SELECT {GROUP}, event_id, recorded_us, attr, any(value) AS v
    FROM facts
    WHERE kind = 'checkpoint.tally' AND {SUBTREE} AND {IN_W} AND {VISIBLE}
    GROUP BY grp, event_id, recorded_us, attr
)
GROUP BY grp""",
)

#: the rows that submit for date D (contract section 5): zero reports for D, and
#: every other event (facts hold no retractions) that occurred in W
_SUBMITS = f"((kind = 'report.zero' AND attr = %(day)s) OR (kind != 'report.zero' AND {IN_W}))"

#: per group: first submission time, whether any submission is not a zero
#: report, whether any is one
REPORTING = Family(
    "reporting",
    (
        "min(recorded_us) AS first_us",
        "countIf(kind != 'report.zero') > 0 AS activity",
        "countIf(kind = 'report.zero') > 0 AS zero_reported",
    ),
    f"""
FROM facts
WHERE {SUBTREE} AND {_SUBMITS} AND {VISIBLE}
GROUP BY grp""",
    group=GROUP,
)
REPORTING_SQL = REPORTING.sql()


#: the kinds of the per-subject families (persons and venues)
_SUBJECT_KINDS = (
    "'screening.registered', 'symptom.reported', 'isolation.started', 'isolation.ended', "
    "'case.classified', 'venue.closed', 'venue.reopened'"
)
_ISO = "kind IN ('isolation.started', 'isolation.ended')"
_VENUE = "kind IN ('venue.closed', 'venue.reopened')"
_IN_WINDOW_FLAGS = (
    "kind = 'symptom.reported'",
    *(f"kind = 'isolation.started' AND attr = {_q(m)}" for m in MODES),
    "kind = 'isolation.started'",
    "kind = 'isolation.ended'",
    "kind = 'case.classified' AND attr = 'excluded'",
    "kind = 'venue.closed'",
    "kind = 'venue.reopened'",
)


def subjects(areas: int) -> tuple[Family, tuple[tuple[str, int], ...]]:
    """The five per-subject families (screening, in_window, isolation, cases,
    venues) in one pass over the subtree's rows before W's end, grouped by
    subject once: the same figures as the separate families, with one scan and
    one set of visibility subqueries instead of five. Returns the family and
    (family name, number of values) of each part of its values, in order."""
    scr = "kind = 'screening.registered'"
    screening_parts = [_earliest("all", scr)]
    screening_parts += [_earliest(f"c{i}", f"{scr} AND attr = {_q(c)}") for i, c in enumerate(CATEGORIES)]
    screening_parts += [_earliest(f"a{i}", f"{scr} AND origin LIKE %(area{i})s") for i in range(areas)]
    case = "kind = 'case.classified'"
    case_parts = [_earliest(f"s{i}", f"{case} AND attr = {_q(s)}") for i, s in enumerate(CASE_MILESTONES)]
    inner = [
        *(p[0] for p in screening_parts),
        *(f"countIf({flag} AND {IN_W}) > 0 AS w{i}" for i, flag in enumerate(_IN_WINDOW_FLAGS)),
        f"argMaxIf(kind, {LATEST}, {_ISO}) AS ik",
        f"argMaxIf(attr, {LATEST}, {_ISO}) AS ia",
        f"argMaxIf(value, {LATEST}, {_ISO}) AS iv",
        f"argMaxIf(occurred_us, {LATEST}, {_ISO}) AS io",
        f"argMaxIf(attr, {LATEST}, {case}) AS latest",
        *(p[0] for p in case_parts),
        f"argMaxIf(kind, {LATEST}, {_VENUE}) AS vk",
        f"argMaxIf(attr, {LATEST}, {_VENUE}) AS vt",
    ]
    parts: list[tuple[str, tuple[str, ...]]] = [
        ("screening", tuple(e for p in screening_parts for e in p[1])),
        ("in_window", tuple(f"countIf(w{i})" for i in range(len(_IN_WINDOW_FLAGS)))),
        (
            "isolation",
            (
                *(f"countIf(ik = 'isolation.started' AND ia = {_q(m)})" for m in MODES),
                "countIf(ik = 'isolation.started')",
                "countIf(ik = 'isolation.started' AND io + iv * 86400000000 < %(end)s)",
            ),
        ),
        ("cases", ("countIf(latest = 'suspected')", *(e for p in case_parts for e in p[1]))),
        (
            "venues",
            (
                "countIf(vk = 'venue.closed')",
                *(f"countIf(vk = 'venue.closed' AND vt = {_q(t)})" for t in VENUE_TYPES),
            ),
        ),
    ]
    family = Family(
        "subjects",
        tuple(v for _, values in parts for v in values),
        f"""
FROM (
    SELECT {GROUP}, subject, {", ".join(inner)}
    FROM facts
    WHERE kind IN ({_SUBJECT_KINDS}) AND {SUBTREE} AND {BEFORE_END} AND {VISIBLE}
    GROUP BY grp, subject
)
GROUP BY grp""",
    )
    return family, tuple((name, len(values)) for name, values in parts)


def daily_sql(areas: int) -> str:
    """Every family of the daily report in one query (one round trip): rows of
    (family, grp, values); the per-subject families come as one `subjects`
    row per group (see `subjects`)."""
    families = (subjects(areas)[0], CHECKPOINTS, REPORTING)
    return "\nUNION ALL\n".join(f.tagged() for f in families)


#: every unit of a level in the subtree that exists on %(day)s, with its status
UNITS_SQL = f"""
SELECT code, name, grp, first_us,
    multiIf(first_us = 0, 'missing', first_us > %(deadline)s, 'late',
            activity = 1, 'reported', 'zero_reported') AS status,
    activity = 1 AND zero_reported = 1 AS contradicted
FROM (
    SELECT code, name, intDiv(toUInt64(code), %(scale)s) AS grp
    FROM divisions
    WHERE level = %(level)s AND code >= %(lo)s AND code <= %(hi)s
      AND valid_from <= toDate(%(day)s) AND valid_to > toDate(%(day)s)
) AS u
ANY LEFT JOIN ({REPORTING_SQL}) AS s USING grp"""

#: counts per status, contradicted zero reports, the units matching
#: %(statuses)s, and one page of them ordered by code: one pass over the join
ZERO_SQL = f"""
SELECT count(), countIf(status = 'reported'), countIf(status = 'zero_reported'),
    countIf(status = 'late'), countIf(status = 'missing'), countIf(contradicted),
    countIf(status IN %(statuses)s),
    arraySlice(arraySort(u -> u.1, groupArrayIf((code, name, status, first_us), status IN %(statuses)s)),
               %(offset)s + 1, %(limit)s)
FROM ({UNITS_SQL})"""


def area_params(areas: Sequence[str]) -> dict[str, str]:
    return {f"area{i}": f"{a}%" for i, a in enumerate(areas)}
