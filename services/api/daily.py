"""Daily figures and reporting status for a subtree, or for each child of it,
assembled from the maintained counts (counts_sql.py) and submission rows
(reporting_sql.py)."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from schemas import codes
from schemas.records import from_micros, to_micros
from services.api import counts_sql, reporting_sql
from services.api.store import Queryable
from services.common.counting import Model
from services.common.figures import Figures, empty_figures
from services.common.windows import Window


@dataclass(frozen=True)
class Reporting:
    status: str
    submitted_at: datetime | None
    zero_report_contradicted: bool


MISSING = Reporting("missing", None, False)


@dataclass(frozen=True)
class Scope:
    """Which subtree to count, and how to group it: by `digits` significant
    digits (the subtree's own for one group, its children's for one each)."""

    code: str
    digits: int

    @classmethod
    def whole(cls, code: str) -> Scope:
        return cls(code, len(codes.significant(code)))


#: runs the reporting-status reads beside the counts query of the same report
#: (each is mostly ClickHouse's fixed cost of a small query, on one core).
#: Its threads keep their ClickHouse connections (ReadStore holds one per thread).
_BESIDE = ThreadPoolExecutor(max_workers=8, thread_name_prefix="report-status")
#: runs the contradiction check beside the rest of the status reads (its own
#: pool: a task of _BESIDE waits for it, and it waits for nothing)
_CHECKS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="report-contradiction")

#: the codes of one level in a subtree (a report's children)
CODES_SQL = "SELECT code FROM divisions WHERE code >= %(lo)s AND code <= %(hi)s AND level = %(level)s"


class DailyQuery:
    def __init__(self, store: Queryable, focus_areas: Sequence[str]) -> None:
        self._store = store
        self._areas = tuple(focus_areas)
        self._model = Model(self._areas)

    @staticmethod
    def empty(focus_areas: Sequence[str]) -> Figures:
        return empty_figures(focus_areas)

    def _codes(self, scope: Scope) -> list[str]:
        if scope.digits == len(codes.significant(scope.code)):
            return [scope.code]
        lo, hi = codes.subtree_range(scope.code)
        level = next(lv for lv, d in codes.DIGITS.items() if d == scope.digits)
        return sorted({c for (c,) in self._store.query(CODES_SQL, {"lo": lo, "hi": hi, "level": level})})

    def run(
        self, scope: Scope, window: Window, as_of: datetime, day: str, deadline: datetime
    ) -> tuple[dict[str, Figures], dict[str, Reporting]]:
        """Figures and reporting per group key (the code's first `digits` digits):
        the figures from the maintained counts (counts_sql.py), the reporting
        status from the maintained submission rows (reporting_sql.py)."""
        start, end, as_of_us = to_micros(window.start), to_micros(window.end), to_micros(as_of)
        group_codes = self._codes(scope)
        if not group_codes:
            return {}, {}
        scale = 10 ** (12 - scope.digits)
        # one clock for the report: its counts and its status read the same side of as_of
        now = counts_sql.now_us()
        params = reporting_sql.params(group_codes, start, end, day, as_of_us, scope.code, scale, now)
        found = _BESIDE.submit(reporting_sql.statuses, self._store, params, _CHECKS)
        by_code = counts_sql.figures(self._store, self._model, group_codes, start, end, as_of_us, now)
        out = {code[: scope.digits]: f for code, f in by_code.items()}
        reporting: dict[str, Reporting] = {}
        deadline_us = to_micros(deadline)
        for code, s in found.result().items():
            if s.first_us is None:
                continue
            reporting[code[: scope.digits]] = Reporting(
                s.status(deadline_us), from_micros(s.first_us), s.contradicted
            )
        return out, reporting
