"""DailyQuery turns the query's (family, group, values) rows into figures: every
slot lands on its figure, and every figure is fed by some row."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.api import figures_sql as sql
from services.api.daily import DailyQuery, Scope
from services.common.figures import CHECKPOINT_FIELDS, flatten
from services.common.windows import Window

AREAS = ("42", "4201")
T0 = datetime(2026, 1, 1, tzinfo=UTC)


class Rows:
    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows = rows

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        return self.rows


def _run(rows: list[tuple[Any, ...]]) -> dict[str, int]:
    window = Window(T0, T0)
    figures, _ = DailyQuery(Rows(rows), AREAS).run(Scope("340826000000", 6), window, T0, "2026-01-01", T0)
    return dict(flatten(figures["340826"]))


Row = tuple[Any, ...]


def _slot_row(name: str, attr: str = "", count: int = 0, new: int = 0, in_w: int = 0, late: int = 0) -> Row:
    slots = sql.Slots(len(AREAS))
    k = slots.latest_attrs.index(attr) + 1 if attr else 0
    return ("subjects", 340826, [slots.slot(name), k, count, new, in_w, late])


def test_each_slot_feeds_its_figures() -> None:
    got = _run(
        [
            _slot_row("screened", count=7, new=2),
            _slot_row("category:overseas", count=3, new=1),
            _slot_row("area:1", count=4, new=0),
            _slot_row("case:recovered", count=5, new=5),
            _slot_row("symptomatic", count=9, in_w=6),
            _slot_row("started:medical", count=9, in_w=2),
            _slot_row("started", count=9, in_w=3),
            _slot_row("ended", count=9, in_w=1),
            _slot_row("excluded", count=9, in_w=4),
            _slot_row("venue.reopened", count=9, in_w=8),
            _slot_row("isolation", "home", count=3, late=1),
            _slot_row("isolation", "medical", count=2),
            _slot_row("isolation", count=11),  # latest is a release: not current
            _slot_row("case", "suspected", count=6),
            _slot_row("case", count=4),  # latest classification is not suspected
            _slot_row("venue", "market", count=2),
            _slot_row("venue", count=5),  # latest is a reopening
        ]
    )
    nonzero = {k: v for k, v in got.items() if v}
    assert nonzero == {
        "screened.new": 2,
        "screened.cumulative": 7,
        "screened.by_category.overseas.new": 1,
        "screened.by_category.overseas.cumulative": 3,
        "screened.by_origin.4201.cumulative": 4,
        "cases.recovered.new": 5,
        "cases.recovered.cumulative": 5,
        "symptomatic.new": 6,
        "isolation.started.medical": 2,
        "isolation.started.total": 3,
        "isolation.ended.total": 1,
        "cases.excluded.new": 4,
        "venues.reopened.new": 8,
        "isolation.current.home": 3,
        "isolation.current.medical": 2,
        "isolation.current.total": 5,
        "isolation.overdue": 1,
        "cases.suspected.current": 6,
        "venues.closed.current": 2,
        "venues.closed_by_type.market": 2,
    }


def test_every_figure_is_fed_by_some_row() -> None:
    slots = sql.Slots(len(AREAS))
    rows: list[tuple[Any, ...]] = []
    for name in slots.names:
        attrs = slots.latest_attrs if name in slots.latest else ("",)
        rows += [_slot_row(name, a, count=1, new=1, in_w=1, late=1) for a in attrs]
    rows.append(("submissions", 340826, [1] * len(CHECKPOINT_FIELDS) + [1, 1, 0]))
    assert [k for k, v in _run(rows).items() if v == 0] == []
