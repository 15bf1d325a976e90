"""Report windows and deadlines (contract section 2).

Report date D with cutoff HH:00 covers [D-1 at cutoff, D at cutoff) in the
reporting timezone; with the default cutoff 24:00 that is the calendar day D.
The deadline for D is the window's end plus the grace period.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_CUTOFF = re.compile(r"^(\d{2}):00$")


class CutoffError(ValueError):
    pass


def parse_cutoff(text: str) -> int:
    """`HH:00` (00:00 .. 24:00) -> the hour."""
    match = _CUTOFF.match(text)
    if not match or int(match[1]) > 24:
        raise CutoffError("cutoff must be a whole hour HH:00 from 00:00 to 24:00")
    return int(match[1])


def _at(day: date, hour: int, tz: ZoneInfo) -> datetime:
    """Local wall time `hour`:00 on `day` (24 is midnight of the next day)."""
    if hour == 24:
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return datetime.combine(day, time(hour), tzinfo=tz)


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime


def report_window(day: date, cutoff_hour: int, tz: ZoneInfo) -> Window:
    return Window(_at(day - timedelta(days=1), cutoff_hour, tz), _at(day, cutoff_hour, tz))


def deadline(window: Window, grace_hours: float) -> datetime:
    return window.end + timedelta(hours=grace_hours)


def format_cutoff(hour: int) -> str:
    return f"{hour:02d}:00"
