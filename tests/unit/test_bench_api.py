"""The benchmark's API views: a series' target is twice the p99 measured for
the daily report of the same jurisdiction; every other view has its own."""

from __future__ import annotations

from bench.stages import api


def test_a_series_target_is_twice_its_daily_report_measured() -> None:
    measured = {"village daily": 21.5, "county daily": 30.0, "province daily": 80.0}
    assert api.target_ms("village series (30 dates)", measured) == 43.0
    assert api.target_ms("province series (30 dates)", measured) == 160.0
    assert api.target_ms("search 许岭", measured) == 50
    assert api.target_ms("village daily" + api.AN_HOUR_AGO, measured) == 100
    assert set(api.SERIES.values()) <= set(api.TARGETS_MS)
