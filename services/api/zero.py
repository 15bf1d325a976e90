"""零报告 (contract section 5): the status of every reporting unit under J,
counted and listed inside ClickHouse (never by loading the units into Python),
from the submission rows the aggregator maintains (services/api/zero_sql.py)."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from schemas import codes
from schemas.records import from_micros, to_micros
from services.api import counts_sql, reporting_sql
from services.api import zero_sql as sql
from services.api.store import Queryable
from services.common.counting import window_buckets
from services.common.submissions import day_number
from services.common.windows import Window

STATUSES = sql.STATUSES
#: the contradiction checks, beside the main query
_BESIDE = ThreadPoolExecutor(max_workers=4, thread_name_prefix="zero-contradiction")


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    status: str
    submitted_at: datetime | None


@dataclass(frozen=True)
class ZeroSummary:
    expected: int
    counts: dict[str, int]
    zero_report_contradicted: int
    total: int
    units: list[Unit]


def zero_report(
    store: Queryable,
    code: str,
    level: codes.Level,
    day: date,
    window: Window,
    deadline: datetime,
    as_of: datetime,
    statuses: Sequence[str],
    limit: int,
    offset: int,
) -> ZeroSummary:
    lo, hi = codes.subtree_range(code)
    digits = codes.DIGITS[level]
    scale = 10 ** (12 - digits)
    start, end = to_micros(window.start), to_micros(window.end)
    s, e = window_buckets(start, end)
    # the contradiction check runs beside the main query (it waits for nothing)
    wrong = _BESIDE.submit(_contradicted_units, store, code, digits, day, start, end, to_micros(as_of))
    provinces = (0, 99) if code == codes.COUNTRY else (int(code[:2]), int(code[:2]))
    params: dict[str, Any] = {
        "lo": int(lo),
        "hi": int(hi),
        "lo_code": lo,
        "hi_code": hi,
        "p_lo": provinces[0],
        "p_hi": provinces[1],
        "level": level,
        "digits": digits,
        "scale": scale,
        "day": day.isoformat(),
        "day_number": day_number(day.isoformat()),
        "s": s,
        "e": e,
        "as_of": to_micros(as_of),
        "deadline": to_micros(deadline),
        "statuses": tuple(statuses),
        "limit": limit,
        "offset": offset,
    }
    row = store.query(sql.zero_sql(), params)[0]
    expected, reported, zero, late, missing, total, groups, statuses_, firsts = row
    held = wrong.result()
    contradicted = (
        store.query(
            sql.CONTRADICTED_SQL,
            {**params, "wrong": tuple(str(g).zfill(digits).ljust(12, "0") for g in sorted(held))},
        )[0][0]
        if held
        else 0
    )
    page = [str(g).zfill(digits).ljust(12, "0") for g in groups]
    names = dict(store.query(sql.NAMES_SQL, {"codes": tuple(page)})) if page else {}
    units = [
        Unit(unit, names.get(unit, ""), STATUSES[status - 1], from_micros(first) if first else None)
        for unit, status, first in zip(page, statuses_, firsts, strict=True)
    ]
    return ZeroSummary(
        expected=int(expected),
        counts={
            "reported": int(reported),
            "zero_reported": int(zero),
            "late": int(late),
            "missing": int(missing),
        },
        zero_report_contradicted=int(contradicted),
        total=int(total),
        units=units,
    )


def _contradicted_units(
    store: Queryable, code: str, digits: int, day: date, start_us: int, end_us: int, as_of_us: int
) -> set[int]:
    """The units (codes of `digits` significant digits, as numbers divided by
    their scale) holding a contradicted zero report as of T: those with a
    contradicted zero-reporting code Z of J's subtree in their own subtree,
    that is Z at their level or below and under them (the daily report's
    check, reporting_sql.contradicted)."""
    now = counts_sql.now_us()
    sides = counts_sql.stamp_sides(store, as_of_us, now)
    p = reporting_sql.params([code], start_us, end_us, day.isoformat(), as_of_us, code, now, sides)
    scale = 10 ** (12 - digits)
    return {
        z // scale
        for z in reporting_sql.contradicted(store, p)
        if codes.DIGITS[codes.level_of(str(z).zfill(12))] >= digits
    }
