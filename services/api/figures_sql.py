"""The SQL behind the daily figures (contract section 4) and a unit's
reporting status (section 5), counted inside ClickHouse from the fold's fact
rows of one subtree (one key range), grouped by `grp`: the subtree itself
(digits = its significant digits) or each of its children (digits = the
children's). Parameters: lo, hi, digits, start, end, as_of, and per query
the names below. Every statement runs on ClickHouse 18.16 and current."""

from __future__ import annotations

from collections.abc import Sequence

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
GROUP = "substring(jurisdiction, 1, %(digits)s) AS grp"
IN_W = "occurred_us >= %(start)s AND occurred_us < %(end)s"
BEFORE_END = "occurred_us < %(end)s"
#: the latest event of a subject: by occurred, then recorded, then event_id
LATEST = "(occurred_us, recorded_us, event_id)"


def _q(name: str) -> str:
    return "'" + name.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _earliest(name: str, condition: str) -> tuple[str, str]:
    """(inner, outer) SQL for persons whose earliest row matching `condition` is
    in W (new) and before W's end (cumulative)."""
    inner = f"minIf(occurred_us, {condition}) AS f_{name}, countIf({condition}) > 0 AS h_{name}"
    outer = (
        f"countIf(h_{name} AND f_{name} >= %(start)s AND f_{name} < %(end)s), "
        f"countIf(h_{name} AND f_{name} < %(end)s)"
    )
    return inner, outer


def screening_sql(areas: int) -> str:
    """Earliest registration per person (overall, per category, per focus area)."""
    parts = [_earliest("all", "1")]
    parts += [_earliest(f"c{i}", f"attr = {_q(cat)}") for i, cat in enumerate(CATEGORIES)]
    parts += [_earliest(f"a{i}", f"origin LIKE %(area{i})s") for i in range(areas)]
    inner = [p[0] for p in parts]
    outer = [p[1] for p in parts]
    return f"""
SELECT grp, {", ".join(outer)}
FROM (
    SELECT {GROUP}, subject, {", ".join(inner)}
    FROM facts
    WHERE kind = 'screening.registered' AND {SUBTREE} AND {VISIBLE}
    GROUP BY grp, subject
)
GROUP BY grp"""


IN_WINDOW_SQL = f"""
SELECT {GROUP},
    uniqExactIf(subject, kind = 'symptom.reported'),
    {", ".join(f"uniqExactIf(subject, kind = 'isolation.started' AND attr = {_q(m)})" for m in MODES)},
    uniqExactIf(subject, kind = 'isolation.started'),
    uniqExactIf(subject, kind = 'isolation.ended'),
    uniqExactIf(subject, kind = 'case.classified' AND attr = 'excluded'),
    uniqExactIf(subject, kind = 'venue.closed'),
    uniqExactIf(subject, kind = 'venue.reopened')
FROM facts
WHERE kind IN ('symptom.reported', 'isolation.started', 'isolation.ended', 'case.classified',
               'venue.closed', 'venue.reopened')
  AND {SUBTREE} AND {IN_W} AND {VISIBLE}
GROUP BY grp"""

CHECKPOINTS_SQL = f"""
SELECT grp, {", ".join(f"sumIf(v, attr = {_q(f)})" for f in CHECKPOINT_FIELDS)}
FROM (
    SELECT {GROUP}, event_id, recorded_us, attr, any(value) AS v
    FROM facts
    WHERE kind = 'checkpoint.tally' AND {SUBTREE} AND {IN_W} AND {VISIBLE}
    GROUP BY grp, event_id, recorded_us, attr
)
GROUP BY grp"""

ISOLATION_SQL = f"""
SELECT grp,
    {", ".join(f"countIf(k = 'isolation.started' AND a = {_q(m)})" for m in MODES)},
    countIf(k = 'isolation.started'),
    countIf(k = 'isolation.started' AND o + v * 86400000000 < %(end)s)
FROM (
    SELECT {GROUP}, subject,
        argMax(kind, {LATEST}) AS k, argMax(attr, {LATEST}) AS a,
        argMax(value, {LATEST}) AS v, argMax(occurred_us, {LATEST}) AS o
    FROM facts
    WHERE kind IN ('isolation.started', 'isolation.ended') AND {SUBTREE} AND {BEFORE_END} AND {VISIBLE}
    GROUP BY grp, subject
)
GROUP BY grp"""

_MILESTONES = [_earliest(f"s{i}", f"attr = {_q(s)}") for i, s in enumerate(CASE_MILESTONES)]
CASES_SQL = f"""
SELECT grp, countIf(latest = 'suspected'), {", ".join(m[1] for m in _MILESTONES)}
FROM (
    SELECT {GROUP}, subject, argMax(attr, {LATEST}) AS latest, {", ".join(m[0] for m in _MILESTONES)}
    FROM facts
    WHERE kind = 'case.classified' AND {SUBTREE} AND {BEFORE_END} AND {VISIBLE}
    GROUP BY grp, subject
)
GROUP BY grp"""

VENUES_SQL = f"""
SELECT grp, countIf(k = 'venue.closed'),
    {", ".join(f"countIf(k = 'venue.closed' AND t = {_q(t)})" for t in VENUE_TYPES)}
FROM (
    SELECT {GROUP}, subject, argMax(kind, {LATEST}) AS k, argMax(attr, {LATEST}) AS t
    FROM facts
    WHERE kind IN ('venue.closed', 'venue.reopened') AND {SUBTREE} AND {BEFORE_END} AND {VISIBLE}
    GROUP BY grp, subject
)
GROUP BY grp"""

#: every event type that submits for a window by its occurred_at
ACTIVITY_KINDS = (
    "screening.registered",
    "symptom.reported",
    "isolation.started",
    "isolation.ended",
    "case.classified",
    "venue.closed",
    "venue.reopened",
    "checkpoint.tally",
)

#: per group: first submission time, whether any submission is not a zero
#: report, whether any is one (contract section 5)
REPORTING_SQL = f"""
SELECT {GROUP}, min(recorded_us) AS first_us,
    countIf(kind != 'report.zero') > 0 AS activity, countIf(kind = 'report.zero') > 0 AS zero_reported
FROM facts
WHERE kind IN ('report.zero', {", ".join(_q(k) for k in ACTIVITY_KINDS)})
  AND {SUBTREE}
  AND ((kind = 'report.zero' AND attr = %(day)s) OR (kind != 'report.zero' AND {IN_W}))
  AND {VISIBLE}
GROUP BY grp"""

#: every unit of a level in the subtree that exists on %(day)s, with its status
UNITS_SQL = f"""
SELECT code, name, grp, first_us,
    multiIf(first_us = 0, 'missing', first_us > %(deadline)s, 'late',
            activity = 1, 'reported', 'zero_reported') AS status,
    activity = 1 AND zero_reported = 1 AS contradicted
FROM (
    SELECT code, name, substring(code, 1, %(digits)s) AS grp
    FROM divisions
    WHERE level = %(level)s AND code >= %(lo)s AND code <= %(hi)s
      AND valid_from <= toDate(%(day)s) AND valid_to > toDate(%(day)s)
) AS u
ANY LEFT JOIN ({REPORTING_SQL}) AS s USING grp"""

ZERO_COUNTS_SQL = f"""
SELECT count(), countIf(status = 'reported'), countIf(status = 'zero_reported'),
    countIf(status = 'late'), countIf(status = 'missing'), countIf(contradicted),
    countIf(status IN %(statuses)s)
FROM ({UNITS_SQL})"""

ZERO_UNITS_SQL = f"""
SELECT code, name, status, first_us
FROM ({UNITS_SQL})
WHERE status IN %(statuses)s
ORDER BY code
LIMIT %(offset)s, %(limit)s"""


def area_params(areas: Sequence[str]) -> dict[str, str]:
    return {f"area{i}": f"{a}%" for i, a in enumerate(areas)}
