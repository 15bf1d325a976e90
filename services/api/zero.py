"""零报告 (contract section 5): the status of every reporting unit under J,
counted and listed inside ClickHouse (never by loading the units into Python)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from schemas import codes
from schemas.records import from_micros, to_micros
from services.api import figures_sql as sql
from services.api.store import Queryable
from services.common.windows import Window

STATUSES = sql.STATUSES


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
    scale = 10 ** (12 - codes.DIGITS[level])
    params: dict[str, Any] = {
        "lo": lo,
        "hi": hi,
        "level": level,
        "scale": scale,
        "day": day.isoformat(),
        "start": to_micros(window.start),
        "end": to_micros(window.end),
        "as_of": to_micros(as_of),
        "deadline": to_micros(deadline),
        "statuses": tuple(statuses),
        "limit": limit,
        "offset": offset,
    }
    row = store.query(sql.zero_sql(scale), params)[0]
    expected, reported, zero, late, missing, contradicted, total, groups, statuses_, firsts = row
    digits = codes.DIGITS[level]
    page = [str(g).zfill(digits).ljust(12, "0") for g in groups]
    names = dict(store.query(sql.NAMES_SQL, {"codes": tuple(page)})) if page else {}
    units = [
        Unit(code, names.get(code, ""), STATUSES[s - 1], from_micros(first) if first else None)
        for code, s, first in zip(page, statuses_, firsts, strict=True)
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
