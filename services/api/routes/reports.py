"""GET /v1/reports/daily (日报告)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from schemas.records import to_micros
from services.api import params, queries
from services.api.errors import BadParameter
from services.api.state import ApiState
from services.common.clock import RecordClock
from services.common.windows import format_cutoff, report_window

router = APIRouter()
_clock = RecordClock()


def _iso(ts: datetime) -> str:
    return ts.isoformat(timespec="seconds") if ts.microsecond == 0 else ts.isoformat()


def daily_report(
    state: ApiState,
    jurisdiction: str,
    date: str | None,
    cutoff: str | None,
    as_of: str | None,
    fmt: str,
) -> dict[str, Any]:
    zone = state.settings.zone
    now = _clock.now()
    code = params.jurisdiction(jurisdiction)
    day = params.report_date(date, now.astimezone(zone).date())
    hour = params.cutoff(cutoff)
    as_of_ts = params.as_of(as_of, now)
    if fmt != "json":
        raise BadParameter("format", "only format=json is served yet")
    division = queries.division(state.store, code)
    window = report_window(day, hour, zone)
    figures = {"screened": queries.screened(state.store, code, window, to_micros(as_of_ts))}
    return {
        "jurisdiction": {"code": division.code, "name": division.name, "level": division.level},
        "date": day.isoformat(),
        "cutoff": format_cutoff(hour),
        "as_of": _iso(as_of_ts.astimezone(zone)),
        "window": {"start": _iso(window.start), "end": _iso(window.end)},
        "figures": figures,
    }


@router.get("/v1/reports/daily")
async def get_daily(
    request: Request,
    jurisdiction: str = Query(..., description="division code, 2/4/6/9/12 digits"),
    date: str | None = Query(None, description="report date YYYY-MM-DD (default: today)"),
    cutoff: str | None = Query(None, description="HH:00, 00:00..24:00 (default 24:00)"),
    as_of: str | None = Query(None, description="RFC 3339 timestamp (default: now)"),
    format: str = Query("json", description="json"),
) -> dict[str, Any]:
    state: ApiState = request.app.state.api
    return await run_in_threadpool(daily_report, state, jurisdiction, date, cutoff, as_of, format)
