"""The series' pure parts: which figures `figures=` selects, the rolling sums
beside each `.new` figure, and the dates a series reads."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from services.api import params, series
from services.api.errors import BadParameter

NAMES = series.figure_names(("42", "4201"))
SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 30, 1, 15, tzinfo=UTC)


def test_no_selection_is_every_figure_and_a_group_is_its_figures_in_order() -> None:
    assert series.selection(None, NAMES) == NAMES
    got = series.selection("isolation.current, screened.by_origin.4201.new", NAMES)
    assert got == [
        "screened.by_origin.4201.new",
        "isolation.current.home",
        "isolation.current.centralized",
        "isolation.current.medical",
        "isolation.current.total",
    ]


@pytest.mark.parametrize(
    "raw", ["screened.ne", "isolation.current.total.x", ",", "", "cases.confirmed.new_rolling7"]
)
def test_a_name_that_is_no_figure_is_refused(raw: str) -> None:
    with pytest.raises(BadParameter) as caught:
        series.selection(raw, NAMES)
    assert caught.value.parameter == "figures"


def test_rolling_sums_read_the_dates_before_the_first_shown() -> None:
    values = [{"screened.new": v, "isolation.overdue": 10 * v} for v in range(1, 21)]
    got = series.with_rolling(values, ["screened.new", "isolation.overdue"], 13)
    assert len(got) == 7
    assert got[0] == {
        "screened": {"new": 14, "new_rolling7": sum(range(8, 15)), "new_rolling14": sum(range(1, 15))},
        "isolation": {"overdue": 140},
    }
    assert got[-1]["screened"]["new_rolling14"] == sum(range(7, 21))
    # at the very start, the sums cover the dates there are
    assert series.with_rolling(values, ["screened.new"], 0)[1]["screened"]["new_rolling7"] == 3


def test_a_series_reads_the_13_dates_before_from() -> None:
    q = params.series_query("3418", "2020-01-28", "2020-01-29", None, None, SH, NOW)
    days = q.dates(series.BEFORE)
    assert (days[0], days[13], days[-1], len(days)) == (date(2020, 1, 15), q.first, q.last, 15)


def test_the_default_series_is_the_30_dates_ending_today() -> None:
    q = params.series_query("3418", None, None, None, None, SH, NOW)
    assert (q.first, q.last, q.cutoff_hour, q.as_of) == (date(2026, 11, 1), date(2026, 11, 30), 24, NOW)
    assert params.series_query("34", None, "2000-01-05", None, None, SH, NOW).first == params.EARLIEST
