"""Query parameters shared by the report endpoints, parsed with errors that
name the parameter."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from schemas import codes
from schemas.events import parse_rfc3339
from services.api.errors import BadParameter
from services.common.windows import CutoffError, Window, parse_cutoff, report_window


def jurisdiction(raw: str) -> str:
    try:
        return codes.normalize(raw)
    except codes.CodeError as exc:
        raise BadParameter("jurisdiction", str(exc)) from None


#: dates and times outside these are refused (nothing is recorded outside them)
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_UINT = re.compile(r"[0-9]{1,12}")
_HOURS = re.compile(r"-?[0-9]{1,3}(?:\.[0-9]{1,6})?")


def report_date(raw: str | None, today: date, parameter: str = "date") -> date:
    if raw is None:
        return today
    try:
        if not _DATE.fullmatch(raw):
            raise ValueError
        day = date.fromisoformat(raw)
    except ValueError:
        raise BadParameter(parameter, "must be a date YYYY-MM-DD") from None
    if not EARLIEST <= day <= LATEST:
        raise BadParameter(parameter, f"must be from {EARLIEST} to {LATEST}")
    return day


def cutoff(raw: str | None) -> int:
    if raw is None:
        return 24
    try:
        return parse_cutoff(raw)
    except CutoffError as exc:
        raise BadParameter("cutoff", str(exc)) from None


#: how far a client's clock may run ahead of the server's (as for occurred_at,
#: contract section 2)
CLOCK_SKEW = timedelta(minutes=5)


def as_of(raw: str | None, now: datetime) -> datetime:
    """As of T: never after now, what HQ will see then is not known yet. A T
    within CLOCK_SKEW after now (a client's "now" on a clock a little ahead) is
    taken as now, and the answer's `as_of` says so; later is refused."""
    if raw is None:
        return now
    try:
        when = parse_rfc3339(raw)
    except ValueError as exc:
        raise BadParameter("as_of", str(exc)) from None
    if not EARLIEST <= when.date() <= LATEST:
        raise BadParameter("as_of", f"must be from {EARLIEST} to {LATEST}")
    if when > now + CLOCK_SKEW:
        raise BadParameter(
            "as_of", f"{raw} is after the server's clock ({now.isoformat(timespec='seconds')}): not known yet"
        )
    return min(when, now)


def grace_hours(raw: str | None, default: float) -> float:
    if raw is None:
        return default
    if not _HOURS.fullmatch(raw):
        raise BadParameter("grace_hours", "must be a number of hours from 0 to 168, e.g. 2 or 1.5")
    value = float(raw)
    if not 0 <= value <= 24 * 7:
        raise BadParameter("grace_hours", f"{raw} is out of range: a non-negative number of hours, 0 to 168")
    return value


UNIT_LEVELS = ("province", "city", "county", "town", "village")


def unit_level(raw: str | None, default: str, code: str) -> codes.Level:
    value = raw if raw is not None else default
    if value not in UNIT_LEVELS:
        raise BadParameter("unit_level", f"must be one of {', '.join(UNIT_LEVELS)}")
    if codes.DIGITS[value] < codes.DIGITS[codes.level_of(code)]:  # type: ignore[index]
        raise BadParameter(
            "unit_level", f"{value} is above the jurisdiction's level ({codes.level_of(code)})"
        )
    return value  # type: ignore[return-value]


def statuses(raw: str | None, allowed: tuple[str, ...]) -> tuple[str, ...]:
    if raw is None:
        return ("missing", "late")
    values = tuple(v.strip() for v in raw.split(",") if v.strip())
    bad = [v for v in values if v not in allowed]
    if bad or not values:
        raise BadParameter("status", f"comma-separated, from {', '.join(allowed)}")
    return values


def output_format(raw: str | None, allowed: tuple[str, ...]) -> str:
    """A report's `format`: one of `allowed` (the first is the default)."""
    if raw is None:
        return allowed[0]
    if raw not in allowed:
        raise BadParameter("format", f"must be one of {', '.join(allowed)}")
    return raw


def bounded_int(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    if raw is None:
        return default
    if not _UINT.fullmatch(raw) or not low <= int(raw) <= high:
        raise BadParameter(name, f"must be a whole number from {low} to {high}")
    return int(raw)


@dataclass(frozen=True)
class RawReportQuery:
    """The query parameters every report takes, as sent."""

    jurisdiction: str
    date: str | None
    cutoff: str | None
    as_of: str | None
    grace_hours: str | None


@dataclass(frozen=True)
class ReportQuery:
    """The same, parsed (each error names its parameter)."""

    code: str
    day: date
    cutoff_hour: int
    as_of: datetime
    #: the report window of `day` with `cutoff_hour`, and the end of its grace
    window: Window
    deadline: datetime


def _not_future(
    window: Window, day: date, parameter: str, today: date, zone: ZoneInfo, now: datetime
) -> None:
    if window.start > now:
        # with cutoff 24:00: any date after today; with an earlier cutoff,
        # tomorrow's window opens today at the cutoff, and is live from then
        raise BadParameter(
            parameter,
            f"{day} is in the future: its window starts {window.start.isoformat()} "
            f"(today is {today} in {zone.key})",
        )


def report_query(raw: RawReportQuery, zone: ZoneInfo, default_grace: float, now: datetime) -> ReportQuery:
    today = now.astimezone(zone).date()
    day = report_date(raw.date, today)
    hour = cutoff(raw.cutoff)
    window = report_window(day, hour, zone)
    _not_future(window, day, "date", today, zone, now)
    grace = grace_hours(raw.grace_hours, default_grace)
    return ReportQuery(
        code=jurisdiction(raw.jurisdiction),
        day=day,
        cutoff_hour=hour,
        as_of=as_of(raw.as_of, now),
        window=window,
        deadline=window.end + timedelta(hours=grace),
    )


#: the most dates a series answers (contract section 6), and those it shows by default
MAX_SERIES_DATES, DEFAULT_SERIES_DATES = 366, 30


@dataclass(frozen=True)
class SeriesQuery:
    """A series' parameters, parsed: dates `first` to `last` (inclusive)."""

    code: str
    first: date
    last: date
    cutoff_hour: int
    as_of: datetime

    def dates(self, before: int = 0) -> list[date]:
        """The series' dates, after the `before` dates that precede `first`."""
        days = (self.last - self.first).days + 1 + before
        return [self.first + timedelta(days=i - before) for i in range(days)]


def series_query(
    code: str,
    raw_from: str | None,
    raw_to: str | None,
    raw_cutoff: str | None,
    raw_as_of: str | None,
    zone: ZoneInfo,
    now: datetime,
) -> SeriesQuery:
    """`to` defaults to today, `from` to the 30 dates ending on `to`."""
    today = now.astimezone(zone).date()
    last = report_date(raw_to, today, "to")
    hour = cutoff(raw_cutoff)
    _not_future(report_window(last, hour, zone), last, "to", today, zone, now)
    default_first = max(EARLIEST, last - timedelta(days=DEFAULT_SERIES_DATES - 1))
    first = report_date(raw_from, default_first, "from")
    if first > last:
        raise BadParameter("from", f"{first} is after to ({last})")
    count = (last - first).days + 1
    if count > MAX_SERIES_DATES:
        raise BadParameter("from", f"{count} dates from {first} to {last}: at most {MAX_SERIES_DATES}")
    return SeriesQuery(jurisdiction(code), first, last, hour, as_of(raw_as_of, now))
