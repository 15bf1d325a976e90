from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.common.windows import CutoffError, deadline, parse_cutoff, report_window

SH = ZoneInfo("Asia/Shanghai")


def test_cutoff_24_is_the_calendar_day() -> None:
    w = report_window(date(2020, 1, 28), 24, SH)
    assert w.start == datetime(2020, 1, 28, 0, tzinfo=SH)
    assert w.end == datetime(2020, 1, 29, 0, tzinfo=SH)


def test_cutoff_18_runs_from_18_the_day_before() -> None:
    w = report_window(date(2020, 1, 28), 18, SH)
    assert w.start == datetime(2020, 1, 27, 18, tzinfo=SH)
    assert w.end == datetime(2020, 1, 28, 18, tzinfo=SH)


def test_cutoff_00_ends_at_the_start_of_the_day() -> None:
    w = report_window(date(2020, 3, 1), 0, SH)
    assert (w.start, w.end) == (datetime(2020, 2, 29, 0, tzinfo=SH), datetime(2020, 3, 1, 0, tzinfo=SH))


def test_deadline_adds_grace() -> None:
    w = report_window(date(2020, 1, 28), 24, SH)
    assert deadline(w, 2) == w.end + timedelta(hours=2)


@pytest.mark.parametrize("text,hour", [("00:00", 0), ("18:00", 18), ("24:00", 24)])
def test_parse_cutoff(text: str, hour: int) -> None:
    assert parse_cutoff(text) == hour


@pytest.mark.parametrize("text", ["18:30", "25:00", "18", "8:00", "", "18:00:00"])
def test_bad_cutoffs(text: str) -> None:
    with pytest.raises(CutoffError):
        parse_cutoff(text)
