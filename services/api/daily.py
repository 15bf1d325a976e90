"""Daily figures and reporting status for a subtree, or for each child of it,
assembled from the queries in figures_sql.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas import codes
from schemas.records import from_micros, to_micros
from services.api import figures_sql as sql
from services.api.store import Queryable
from services.common.figures import (
    CASE_MILESTONES,
    CATEGORIES,
    CHECKPOINT_FIELDS,
    MODES,
    VENUE_TYPES,
    Figures,
    empty_figures,
)
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


class DailyQuery:
    def __init__(self, store: Queryable, focus_areas: Sequence[str]) -> None:
        self._store = store
        self._areas = tuple(focus_areas)
        self._screening = sql.screening_sql(len(self._areas))

    @staticmethod
    def empty(focus_areas: Sequence[str]) -> Figures:
        return empty_figures(focus_areas)

    def run(
        self, scope: Scope, window: Window, as_of: datetime, day: str, deadline: datetime
    ) -> tuple[dict[str, Figures], dict[str, Reporting]]:
        """Figures and reporting per group key (the first `digits` digits)."""
        lo, hi = codes.subtree_range(scope.code)
        params: dict[str, Any] = {
            "lo": lo,
            "hi": hi,
            "digits": scope.digits,
            "start": to_micros(window.start),
            "end": to_micros(window.end),
            "as_of": to_micros(as_of),
            "day": day,
            **sql.area_params(self._areas),
        }
        out: dict[str, Figures] = {}

        def fig(grp: str) -> Figures:
            if grp not in out:
                out[grp] = empty_figures(self._areas)
            return out[grp]

        for grp, new, cum, *rest in self._store.query(self._screening, params):
            s = fig(grp)["screened"]
            s["new"], s["cumulative"] = new, cum
            for i, cat in enumerate(CATEGORIES):
                s["by_category"][cat] = {"new": rest[2 * i], "cumulative": rest[2 * i + 1]}
            base = 2 * len(CATEGORIES)
            for i, area in enumerate(self._areas):
                s["by_origin"][area] = {"new": rest[base + 2 * i], "cumulative": rest[base + 2 * i + 1]}

        for grp, symptomatic, *rest in self._store.query(sql.IN_WINDOW_SQL, params):
            f = fig(grp)
            f["symptomatic"]["new"] = symptomatic
            started = f["isolation"]["started"]
            for i, mode in enumerate(MODES):
                started[mode] = rest[i]
            n = len(MODES)
            started["total"], f["isolation"]["ended"]["total"] = rest[n], rest[n + 1]
            f["cases"]["excluded"]["new"] = rest[n + 2]
            f["venues"]["closed"]["new"], f["venues"]["reopened"]["new"] = rest[n + 3], rest[n + 4]

        for grp, *sums in self._store.query(sql.CHECKPOINTS_SQL, params):
            fig(grp)["checkpoints"] = dict(zip(CHECKPOINT_FIELDS, sums, strict=True))

        for grp, *rest in self._store.query(sql.ISOLATION_SQL, params):
            iso = fig(grp)["isolation"]
            for i, mode in enumerate(MODES):
                iso["current"][mode] = rest[i]
            iso["current"]["total"], iso["overdue"] = rest[len(MODES)], rest[len(MODES) + 1]

        for grp, suspected, *rest in self._store.query(sql.CASES_SQL, params):
            cases = fig(grp)["cases"]
            cases["suspected"]["current"] = suspected
            for i, status in enumerate(CASE_MILESTONES):
                cases[status] = {"new": rest[2 * i], "cumulative": rest[2 * i + 1]}

        for grp, closed, *by_type in self._store.query(sql.VENUES_SQL, params):
            venues = fig(grp)["venues"]
            venues["closed"]["current"] = closed
            venues["closed_by_type"] = dict(zip(VENUE_TYPES, by_type, strict=True))

        deadline_us = to_micros(deadline)
        reporting = {}
        for grp, first_us, has_activity, has_zero in self._store.query(sql.REPORTING_SQL, params):
            on_time = "reported" if has_activity else "zero_reported"
            status = "late" if first_us > deadline_us else on_time
            reporting[grp] = Reporting(status, from_micros(first_us), bool(has_activity and has_zero))
        return _ints(out), reporting


def _ints(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _ints(v) for k, v in value.items()}
    return int(value)
