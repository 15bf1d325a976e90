"""The figure queries. Every figure is counted inside ClickHouse from the
fold's fact rows of J's subtree (one key range), as of `as_of`: only rows
recorded by then, minus targets of retractions recorded by then, minus
superseded versions of resent events."""

from __future__ import annotations

from dataclasses import dataclass

from schemas import codes
from schemas.records import to_micros
from services.api.errors import UnknownJurisdiction
from services.api.store import ReadStore
from services.common.windows import Window

#: fact rows that count as of %(as_of)s (a WHERE fragment over `facts`)
VISIBLE = """
    recorded_us <= %(as_of)s
    AND event_id NOT IN (
        SELECT target_event_id FROM retractions
        WHERE recorded_us <= %(as_of)s
          AND target_event_id NOT IN (SELECT event_id FROM retractions)
          AND (event_id, recorded_us) NOT IN (SELECT event_id, recorded_us FROM event_duplicates)
    )
    AND (event_id, recorded_us) NOT IN (SELECT event_id, recorded_us FROM event_duplicates)
"""

SCREENED = f"""
SELECT
    countIf(first_us >= %(start)s AND first_us < %(end)s) AS new,
    countIf(first_us < %(end)s) AS cumulative
FROM (
    SELECT subject, min(occurred_us) AS first_us
    FROM facts
    WHERE kind = 'screened' AND jurisdiction >= %(lo)s AND jurisdiction <= %(hi)s
      AND {VISIBLE}
    GROUP BY subject
)
"""

DIVISION = "SELECT code, name, level, parent FROM divisions WHERE code = %(code)s LIMIT 1"
CHILDREN = "SELECT code, name, level FROM divisions WHERE parent = %(code)s ORDER BY code"


@dataclass(frozen=True)
class Division:
    code: str
    name: str
    level: str
    parent: str


def division(store: ReadStore, code: str) -> Division:
    rows = store.query(DIVISION, {"code": code})
    if not rows:
        raise UnknownJurisdiction(code)
    return Division(*rows[0])


def children(store: ReadStore, code: str) -> list[Division]:
    return [Division(c, n, lv, code) for c, n, lv in store.query(CHILDREN, {"code": code})]


def figure_params(code: str, window: Window, as_of_us: int) -> dict[str, object]:
    lo, hi = codes.subtree_range(code)
    return {
        "lo": lo,
        "hi": hi,
        "start": to_micros(window.start),
        "end": to_micros(window.end),
        "as_of": as_of_us,
    }


def screened(store: ReadStore, code: str, window: Window, as_of_us: int) -> dict[str, int]:
    new, cumulative = store.query(SCREENED, figure_params(code, window, as_of_us))[0]
    return {"new": int(new), "cumulative": int(cumulative)}
