"""Daily figures and reporting status for a jurisdiction and, read at once,
its children, assembled from the maintained counts (counts_sql.py) and
submission rows (reporting_sql.py)."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

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


#: runs the reporting-status reads beside the counts query of the same report
#: (each is mostly ClickHouse's fixed cost of a small query, on one core).
#: Its threads keep their ClickHouse connections (ReadStore holds one per thread).
_BESIDE = ThreadPoolExecutor(max_workers=8, thread_name_prefix="report-status")
#: runs the contradiction check beside the rest of the status reads (its own
#: pool: a task of _BESIDE waits for it, and it waits for nothing)
_CHECKS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="report-contradiction")


class DailyQuery:
    def __init__(self, store: Queryable, focus_areas: Sequence[str]) -> None:
        self._store = store
        self._areas = tuple(focus_areas)
        self._model = Model(self._areas)

    @staticmethod
    def empty(focus_areas: Sequence[str]) -> Figures:
        return empty_figures(focus_areas)

    def run(
        self,
        scope: str,
        group_codes: Sequence[str],
        window: Window,
        as_of: datetime,
        day: str,
        deadline: datetime,
    ) -> tuple[dict[str, Figures], dict[str, Reporting]]:
        """Figures and reporting per code of `group_codes` (12 digits, any levels
        of `scope`'s subtree: a report's own code and its children's, read in
        one counts query and one set of status reads): the figures from the
        maintained counts (counts_sql.py), the reporting status from the
        maintained submission rows (reporting_sql.py). A code with no
        submission has no reporting entry."""
        if not group_codes:
            return {}, {}
        start, end, as_of_us = to_micros(window.start), to_micros(window.end), to_micros(as_of)
        # one clock for the report: its counts and its status read the same side of as_of
        now = counts_sql.now_us()
        sides = counts_sql.stamp_sides(self._store, as_of_us, now)
        params = reporting_sql.params(group_codes, start, end, day, as_of_us, scope, now, sides)
        found = _BESIDE.submit(reporting_sql.statuses, self._store, params, _CHECKS)
        figures = counts_sql.figures(self._store, self._model, group_codes, start, end, as_of_us, now, sides)
        reporting: dict[str, Reporting] = {}
        deadline_us = to_micros(deadline)
        for code, s in found.result().items():
            if s.first_us is not None:
                reporting[code] = Reporting(s.status(deadline_us), from_micros(s.first_us), s.contradicted)
        return figures, reporting
