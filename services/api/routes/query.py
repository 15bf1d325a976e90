"""The query parameters every report endpoint shares (a FastAPI dependency)."""

from __future__ import annotations

from fastapi import Query

from services.api.params import RawReportQuery


def report_params(
    jurisdiction: str = Query(..., description="division code, 2/4/6/9/12 digits"),
    date: str | None = Query(None, description="report date YYYY-MM-DD (default: today)"),
    cutoff: str | None = Query(None, description="HH:00, 00:00..24:00 (default 24:00)"),
    as_of: str | None = Query(None, description="RFC 3339: figures as HQ saw them then (default: now)"),
    grace_hours: str | None = Query(None, description="hours after the window before late (default 2)"),
) -> RawReportQuery:
    return RawReportQuery(jurisdiction, date, cutoff, as_of, grace_hours)
