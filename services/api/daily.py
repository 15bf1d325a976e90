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
        self._sql = sql.daily_sql(len(self._areas))
        self._subject_parts = sql.subjects(len(self._areas))[1]

    @staticmethod
    def empty(focus_areas: Sequence[str]) -> Figures:
        return empty_figures(focus_areas)

    def run(
        self, scope: Scope, window: Window, as_of: datetime, day: str, deadline: datetime
    ) -> tuple[dict[str, Figures], dict[str, Reporting]]:
        """Figures and reporting per group key (the code's first `digits` digits),
        from one query that returns (family, group, values) rows."""
        lo, hi = codes.subtree_range(scope.code)
        params: dict[str, Any] = {
            "lo": lo,
            "hi": hi,
            "scale": 10 ** (12 - scope.digits),
            "start": to_micros(window.start),
            "end": to_micros(window.end),
            "as_of": to_micros(as_of),
            "day": day,
            **sql.area_params(self._areas),
        }
        out: dict[str, Figures] = {}
        reporting: dict[str, Reporting] = {}
        deadline_us = to_micros(deadline)
        for family, number, values in self._store.query(self._sql, params):
            grp = str(number).zfill(scope.digits) if scope.digits else ""
            if family == "reporting":
                first_us, activity, zero_reported = values
                on_time = "reported" if activity else "zero_reported"
                status = "late" if first_us > deadline_us else on_time
                reporting[grp] = Reporting(status, from_micros(first_us), bool(activity and zero_reported))
                continue
            if grp not in out:
                out[grp] = empty_figures(self._areas)
            numbers = [int(v) for v in values]
            if family == "subjects":  # the per-subject families, one after the other
                at = 0
                for name, count in self._subject_parts:
                    self._fill(out[grp], name, numbers[at : at + count])
                    at += count
            else:
                self._fill(out[grp], family, numbers)
        return out, reporting

    def _fill(self, f: Figures, family: str, v: list[int]) -> None:
        if family == "screening":
            s = f["screened"]
            s["new"], s["cumulative"] = v[0], v[1]
            for i, cat in enumerate(CATEGORIES):
                s["by_category"][cat] = {"new": v[2 + 2 * i], "cumulative": v[3 + 2 * i]}
            base = 2 + 2 * len(CATEGORIES)
            for i, area in enumerate(self._areas):
                s["by_origin"][area] = {"new": v[base + 2 * i], "cumulative": v[base + 2 * i + 1]}
        elif family == "in_window":
            f["symptomatic"]["new"] = v[0]
            started = f["isolation"]["started"]
            for i, mode in enumerate(MODES):
                started[mode] = v[1 + i]
            n = 1 + len(MODES)
            started["total"], f["isolation"]["ended"]["total"] = v[n], v[n + 1]
            f["cases"]["excluded"]["new"] = v[n + 2]
            f["venues"]["closed"]["new"], f["venues"]["reopened"]["new"] = v[n + 3], v[n + 4]
        elif family == "checkpoints":
            f["checkpoints"] = dict(zip(CHECKPOINT_FIELDS, v, strict=True))
        elif family == "isolation":
            iso = f["isolation"]
            for i, mode in enumerate(MODES):
                iso["current"][mode] = v[i]
            iso["current"]["total"], iso["overdue"] = v[len(MODES)], v[len(MODES) + 1]
        elif family == "cases":
            cases = f["cases"]
            cases["suspected"]["current"] = v[0]
            for i, status in enumerate(CASE_MILESTONES):
                cases[status] = {"new": v[1 + 2 * i], "cumulative": v[2 + 2 * i]}
        elif family == "venues":
            f["venues"]["closed"]["current"] = v[0]
            f["venues"]["closed_by_type"] = dict(zip(VENUE_TYPES, v[1:], strict=True))
