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

#: fact rows that count as of %(as_of)s: recorded by then, not the target of a
#: valid retraction recorded by then, not a superseded version of a resent event
VISIBLE = """
    recorded_us <= %(as_of)s
    AND (event_id, recorded_us) NOT IN (SELECT event_id, recorded_us FROM event_duplicates)
    AND event_id NOT IN (
        SELECT target_event_id FROM retractions
        WHERE recorded_us <= %(as_of)s
          AND (event_id, recorded_us) NOT IN (SELECT event_id, recorded_us FROM event_duplicates)
          AND target_event_id NOT IN (
              SELECT event_id FROM retractions
              WHERE (event_id, recorded_us) NOT IN (SELECT event_id, recorded_us FROM event_duplicates)
          )
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


def screening(areas: int) -> Family:
    """Earliest registration per person (overall, per category, per focus area)."""
    parts = [_earliest("all", "1")]
    parts += [_earliest(f"c{i}", f"attr = {_q(cat)}") for i, cat in enumerate(CATEGORIES)]
    parts += [_earliest(f"a{i}", f"origin LIKE %(area{i})s") for i in range(areas)]
    inner = ", ".join(p[0] for p in parts)
    return Family(
        "screening",
        tuple(e for p in parts for e in p[1]),
        f"""
FROM (
    SELECT {GROUP}, subject, {inner}
    FROM facts
    WHERE kind = 'screening.registered' AND {SUBTREE} AND {VISIBLE}
    GROUP BY grp, subject
)
GROUP BY grp""",
    )


IN_WINDOW = Family(
    "in_window",
    (
        "uniqExactIf(subject, kind = 'symptom.reported')",
        *(f"uniqExactIf(subject, kind = 'isolation.started' AND attr = {_q(m)})" for m in MODES),
        "uniqExactIf(subject, kind = 'isolation.started')",
        "uniqExactIf(subject, kind = 'isolation.ended')",
        "uniqExactIf(subject, kind = 'case.classified' AND attr = 'excluded')",
        "uniqExactIf(subject, kind = 'venue.closed')",
        "uniqExactIf(subject, kind = 'venue.reopened')",
    ),
    f"""
FROM facts
WHERE kind IN ('symptom.reported', 'isolation.started', 'isolation.ended', 'case.classified',
               'venue.closed', 'venue.reopened')
  AND {SUBTREE} AND {IN_W} AND {VISIBLE}
GROUP BY grp""",
    group=GROUP,
)

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

ISOLATION = Family(
    "isolation",
    (
        *(f"countIf(k = 'isolation.started' AND a = {_q(m)})" for m in MODES),
        "countIf(k = 'isolation.started')",
        "countIf(k = 'isolation.started' AND o + v * 86400000000 < %(end)s)",
    ),
    f"""
FROM (
    SELECT {GROUP}, subject,
        argMax(kind, {LATEST}) AS k, argMax(attr, {LATEST}) AS a,
        argMax(value, {LATEST}) AS v, argMax(occurred_us, {LATEST}) AS o
    FROM facts
    WHERE kind IN ('isolation.started', 'isolation.ended') AND {SUBTREE} AND {BEFORE_END} AND {VISIBLE}
    GROUP BY grp, subject
)
GROUP BY grp""",
)

_MILESTONES = [_earliest(f"s{i}", f"attr = {_q(s)}") for i, s in enumerate(CASE_MILESTONES)]
CASES = Family(
    "cases",
    ("countIf(latest = 'suspected')", *(e for m in _MILESTONES for e in m[1])),
    f"""
FROM (
    SELECT {GROUP}, subject, argMax(attr, {LATEST}) AS latest, {", ".join(m[0] for m in _MILESTONES)}
    FROM facts
    WHERE kind = 'case.classified' AND {SUBTREE} AND {BEFORE_END} AND {VISIBLE}
    GROUP BY grp, subject
)
GROUP BY grp""",
)

VENUES = Family(
    "venues",
    (
        "countIf(k = 'venue.closed')",
        *(f"countIf(k = 'venue.closed' AND t = {_q(t)})" for t in VENUE_TYPES),
    ),
    f"""
FROM (
    SELECT {GROUP}, subject, argMax(kind, {LATEST}) AS k, argMax(attr, {LATEST}) AS t
    FROM facts
    WHERE kind IN ('venue.closed', 'venue.reopened') AND {SUBTREE} AND {BEFORE_END} AND {VISIBLE}
    GROUP BY grp, subject
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


def daily_sql(areas: int) -> str:
    """Every family of the daily report in one query (one round trip): rows of
    (family, grp, values)."""
    families = (screening(areas), IN_WINDOW, CHECKPOINTS, ISOLATION, CASES, VENUES, REPORTING)
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
