"""The shape of the daily figures (contract sections 4 and 6): every key, with
0 where nothing happened. Shared by the query path and the reference
implementation so that both answer with the same keys."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from schemas.events import CaseStatus, Category, IsolationMode, VenueType

CATEGORIES = tuple(c.value for c in Category)
MODES = tuple(m.value for m in IsolationMode)
VENUE_TYPES = tuple(v.value for v in VenueType)
#: case statuses counted as new/cumulative (first classification as s)
CASE_MILESTONES = ("confirmed", "recovered", "deceased")
CHECKPOINT_FIELDS = ("people_checked", "vehicles_checked", "fevers_found", "turned_back")
DEFAULT_FOCUS_AREAS = ("42", "4201")

Figures = dict[str, Any]

assert {s.value for s in CaseStatus} == {"suspected", "excluded", *CASE_MILESTONES}


def _new_cum() -> dict[str, int]:
    return {"new": 0, "cumulative": 0}


def empty_figures(focus_areas: Sequence[str] = DEFAULT_FOCUS_AREAS) -> Figures:
    return {
        "screened": {
            "new": 0,
            "cumulative": 0,
            "by_category": {c: _new_cum() for c in CATEGORIES},
            "by_origin": {a: _new_cum() for a in focus_areas},
        },
        "symptomatic": {"new": 0},
        "isolation": {
            "started": {**{m: 0 for m in MODES}, "total": 0},
            "ended": {"total": 0},
            "current": {**{m: 0 for m in MODES}, "total": 0},
            "overdue": 0,
        },
        "cases": {
            "suspected": {"current": 0},
            **{s: _new_cum() for s in CASE_MILESTONES},
            "excluded": {"new": 0},
        },
        "venues": {
            "closed": {"new": 0, "current": 0},
            "reopened": {"new": 0},
            "closed_by_type": {t: 0 for t in VENUE_TYPES},
        },
        "checkpoints": {f: 0 for f in CHECKPOINT_FIELDS},
    }


def flatten(figures: Figures, prefix: str = "") -> Iterator[tuple[str, int]]:
    """(dotted name, value) for every figure, in a stable order."""
    for key, value in figures.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from flatten(value, name + ".")
        else:
            yield name, int(value)
