"""GET /v1/reports/daily (日报告)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import ORJSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from schemas import codes
from services.api import params, queries
from services.api.errors import BadParameter
from services.api.report import DailyRequest, build_daily, to_csv
from services.api.state import ApiState
from services.api.text_report import render
from services.common.clock import RecordClock

router = APIRouter()
_clock = RecordClock()
FORMATS = ("json", "csv", "text")


def _request(
    state: ApiState,
    jurisdiction: str,
    date: str | None,
    cutoff: str | None,
    as_of: str | None,
    grace_hours: str | None,
    children: bool,
) -> DailyRequest:
    now = _clock.now()
    zone = state.settings.zone
    return DailyRequest(
        code=params.jurisdiction(jurisdiction),
        day=params.report_date(date, now.astimezone(zone).date()),
        cutoff_hour=params.cutoff(cutoff),
        as_of=params.as_of(as_of, now),
        grace_hours=params.grace_hours(grace_hours, state.settings.grace_hours),
        children=children,
    )


def _area_names(state: ApiState, areas: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for area in areas:
        try:
            out[area] = queries.division(state.store, codes.normalize(area)).name
        except Exception:  # an area missing from a deployment's registry keeps its code
            out[area] = area
    return out


@router.get("/v1/reports/daily", response_model=None)
async def get_daily(
    request: Request,
    jurisdiction: str = Query(..., description="division code, 2/4/6/9/12 digits"),
    date: str | None = Query(None, description="report date YYYY-MM-DD (default: today)"),
    cutoff: str | None = Query(None, description="HH:00, 00:00..24:00 (default 24:00)"),
    as_of: str | None = Query(None, description="RFC 3339 timestamp (default: now)"),
    grace_hours: str | None = Query(None, description="hours after the window before late (default 2)"),
    children: bool = Query(False, description="add one row per child jurisdiction"),
    format: str = Query("json", description="json, csv or text"),
) -> Response:
    state: ApiState = request.app.state.api
    if format not in FORMATS:
        raise BadParameter("format", f"must be one of {', '.join(FORMATS)}")
    req = _request(state, jurisdiction, date, cutoff, as_of, grace_hours, children)
    report = await run_in_threadpool(build_daily, state, req)
    if format == "csv":
        return PlainTextResponse(to_csv(report), media_type="text/csv; charset=utf-8")
    if format == "text":
        names = await run_in_threadpool(_area_names, state, state.settings.focus_area_list)
        return PlainTextResponse(render(report, names))
    return ORJSONResponse(report)
