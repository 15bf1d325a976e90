"""counts_sql.figures turns the (code, counter, in_w, before_end, first_in_w)
rows into figures: every figure reads its counter's measure, every figure is
fed by some counter, and the parameters select whole minutes and the tail."""

from __future__ import annotations

from typing import Any

from services.api import counts_sql
from services.common.counting import BUCKET_US, Measure, Model
from services.common.figures import flatten

MODEL = Model(("42", "4201"))
CODE = "340826000000"


class Rows:
    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows = rows
        self.params: dict[str, Any] = {}

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        self.params = params or {}
        return self.rows


def test_every_figure_reads_its_counter_and_measure() -> None:
    # counter i: in_w = 1000 i + 1, before_end = 1000 i + 2, first_in_w = 1000 i + 3
    rows = [(int(CODE), i, 1000 * i + 1, 1000 * i + 2, 1000 * i + 3) for i in MODEL.ids().values()]
    got = counts_sql.figures(Rows(rows), MODEL, [CODE], 10 * BUCKET_US, 34 * BUCKET_US, 99)[CODE]
    ids = MODEL.ids()
    column = {Measure.IN_W: 1, Measure.BEFORE_END: 2, Measure.FIRST_IN_W: 3}
    expected = {r.path: 1000 * ids[r.counter] + column[r.measure] for r in MODEL.readings}
    assert dict(flatten(got)) == expected


def test_codes_without_rows_get_every_key_at_zero() -> None:
    got = counts_sql.figures(Rows([]), MODEL, [CODE, "340826103000"], 0, BUCKET_US * 24, 5)
    assert set(got) == {CODE, "340826103000"}
    assert all(v == 0 for f in got.values() for _, v in flatten(f))


def test_as_of_reads_whole_stamp_hours_and_the_shorter_side() -> None:
    hour = 3_600_000_000
    base = 472_000 * hour
    for offset, sign in ((0, 1), (1, 1), (hour // 2, 1), (hour // 2 + 1, -1), (hour - 1, -1)):
        as_of = base + offset
        p = counts_sql.params([CODE], 24 * BUCKET_US, 48 * BUCKET_US, as_of, now=base + 5 * hour)
        assert (p["s"], p["e"], p["codes"]) == (24, 48, (int(CODE),))
        assert p["sign"] == sign
        # counts up to stamp_hour, plus (or less) the exact deltas in (lo, hi]
        assert p["stamp_hour"] * hour == (p["lo"] if sign == 1 else p["hi"])
        assert (p["lo"], p["hi"]) == ((base, as_of) if sign == 1 else (as_of, base + hour))
        assert p["hi"] - p["lo"] <= hour // 2


def test_nothing_stamped_after_now_is_read_one_by_one() -> None:
    """The side after T holds the stamps up to now only: a read as of now
    takes it (no exact deltas), a read just before now too, and a read early
    in the hour with now far past it takes the hour before."""
    hour = 3_600_000_000
    base = 472_000 * hour
    for as_of, now, sign in (
        (base + hour // 10, base + hour // 10, -1),  # as of now, 6 minutes into the hour
        (base + hour // 10, base + hour // 10 + 1_000_000, -1),  # a second before now
        (base + hour // 10, base + hour // 4, 1),  # 6 minutes in, now 15 minutes later: 9 > 6
        (base + hour // 10, base + 3 * hour, 1),
        (base + hour - 1, base + 3 * hour, -1),
        (base, base, 1),  # a whole hour: nothing either side
    ):
        p = counts_sql.params([CODE], 24 * BUCKET_US, 48 * BUCKET_US, as_of, now=now)
        assert p["sign"] == sign, (as_of - base, now - base)
        if sign == -1:
            assert (p["lo"], p["hi"], p["stamp_hour"]) == (as_of, base + hour, base // hour + 1)
        else:
            assert (p["lo"], p["hi"], p["stamp_hour"]) == (base, as_of, base // hour)


def test_counted_stamps_decide_the_side_unless_both_reach_the_cap() -> None:
    """A burst stamped early in T's hour: the side after T is read even though
    it is the longer one; equal counts take the side before; both sides at
    the cap fall back to the time rule."""
    hour = 3_600_000_000
    base = 472_000 * hour
    as_of, now = base + hour // 10, base + 3 * hour  # the time rule takes the side before
    for sides, sign in (
        ((900_000, 12), -1),
        ((12, 900_000), 1),
        ((7, 7), 1),
        ((counts_sql.SIDE_CAP, counts_sql.SIDE_CAP), 1),
        ((counts_sql.SIDE_CAP, counts_sql.SIDE_CAP - 1), -1),
    ):
        p = counts_sql.params([CODE], 24 * BUCKET_US, 48 * BUCKET_US, as_of, now=now, sides=sides)
        assert p["sign"] == sign, sides
    late = base + hour - hour // 10  # the time rule takes the side after
    p = counts_sql.params([CODE], 24 * BUCKET_US, 48 * BUCKET_US, late, now=now, sides=(3, 4))
    assert p["sign"] == 1


def test_stamps_are_counted_only_when_both_sides_hold_time() -> None:
    hour = 3_600_000_000
    base = 472_000 * hour
    least = counts_sql.PROBE_MIN_US
    store = Rows([(5, 6)])
    t = base + 20 * least
    assert counts_sql.stamp_sides(store, t, t) is None  # as of now
    assert counts_sql.stamp_sides(store, t, t + least - 1) is None  # as of a moment ago
    assert counts_sql.stamp_sides(store, t, t - 5) is None  # as of a moment after now
    assert counts_sql.stamp_sides(store, base, base + 3 * hour) is None  # a whole hour
    assert counts_sql.stamp_sides(store, base + least - 1, base + 3 * hour) is None  # just after one
    assert counts_sql.stamp_sides(store, base + hour - 1, base + 3 * hour) is None  # just before one
    assert store.params == {}
    assert counts_sql.stamp_sides(store, t, t + least) == (5, 6)
    assert store.params == {"below": base, "as_of": t, "above": t + least, "cap": counts_sql.FIRST_CAP}
    assert counts_sql.stamp_sides(store, base + least, base + 3 * hour) == (5, 6)
    assert store.params["above"] == base + hour


def test_stamps_are_counted_to_the_larger_cap_only_when_both_sides_reach_the_first() -> None:
    hour = 3_600_000_000
    base = 472_000 * hour
    first = counts_sql.FIRST_CAP

    class Capped:
        def __init__(self, before: int, after: int) -> None:
            self.sides, self.caps = (before, after), list[int]()

        def query(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
            cap = (params or {})["cap"]
            self.caps.append(cap)
            return [(min(self.sides[0], cap), min(self.sides[1], cap))]

    for before, after, caps in (
        (first, 3, [first]),
        (5 * first, 7 * first, [first, counts_sql.SIDE_CAP]),
        (9 * counts_sql.SIDE_CAP, 9 * counts_sql.SIDE_CAP, [first, counts_sql.SIDE_CAP]),
    ):
        store = Capped(before, after)
        got = counts_sql.stamp_sides(store, base + hour // 2, base + 3 * hour)
        assert store.caps == caps
        assert got == (min(before, caps[-1]), min(after, caps[-1]))
