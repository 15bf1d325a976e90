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
        self._slots = sql.Slots(len(self._areas))

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
            if grp not in out:
                out[grp] = empty_figures(self._areas)
            numbers = [int(v) for v in values]
            if family == "subjects":
                self._fill_slot(out[grp], *numbers)
                continue
            # submissions: the checkpoint sums, then the reporting status
            n = len(CHECKPOINT_FIELDS)
            out[grp]["checkpoints"] = dict(zip(CHECKPOINT_FIELDS, numbers[:n], strict=True))
            first_us, activity, zero_reported = numbers[n:]
            on_time = "reported" if activity else "zero_reported"
            status = "late" if first_us > deadline_us else on_time
            reporting[grp] = Reporting(status, from_micros(first_us), bool(activity and zero_reported))
        return out, reporting

    def _fill_slot(self, f: Figures, slot: int, k: int, count: int, new: int, in_w: int, late: int) -> None:
        """One (slot, attribute) row of the per-subject figures (see sql.Slots);
        `late`: the overdue isolations among `count`."""
        name = self._slots.names[slot - 1]
        kind, _, detail = name.partition(":")
        if name in self._slots.latest:
            attr = self._slots.latest_attrs[k - 1] if k else ""
            if name == "isolation" and attr in MODES:
                cur = f["isolation"]["current"]
                cur[attr] += count
                cur["total"] += count
                f["isolation"]["overdue"] += late
            elif name == "case" and attr == "suspected":
                f["cases"]["suspected"]["current"] += count
            elif name == "venue" and attr in VENUE_TYPES:
                f["venues"]["closed"]["current"] += count
                f["venues"]["closed_by_type"][attr] += count
        elif name in self._slots.in_window:
            iso = f["isolation"]
            if kind == "started":
                iso["started"][detail or "total"] = in_w
            elif name == "ended":
                iso["ended"]["total"] = in_w
            elif name == "symptomatic":
                f["symptomatic"]["new"] = in_w
            elif name == "excluded":
                f["cases"]["excluded"]["new"] = in_w
            else:  # venue.closed, venue.reopened
                f["venues"][name.split(".")[1]]["new"] = in_w
        else:
            numbers = {"new": new, "cumulative": count}
            if name == "screened":
                f["screened"].update(numbers)
            elif kind == "category":
                f["screened"]["by_category"][detail] = numbers
            elif kind == "area":
                f["screened"]["by_origin"][self._areas[int(detail)]] = numbers
            else:  # case milestones
                f["cases"][detail] = numbers
