"""GET /v1/reports/daily (日报告)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import ORJSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from schemas import codes
from services.api import params, queries
from services.api.errors import BadParameter
from services.api.params import RawReportQuery
from services.api.report import build_daily, to_csv
from services.api.routes.documented import documented
from services.api.routes.query import viewer_params
from services.api.state import ApiState
from services.api.text_report import render
from services.common.clock import RecordClock

router = APIRouter()
_clock = RecordClock()
FORMATS = ("json", "csv", "text")


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
    raw: RawReportQuery = Depends(viewer_params),
    children: bool = Query(False, description="add one row per child jurisdiction"),
    format: str = Query(
        "json", description="json, csv or text", json_schema_extra=documented(enum=list(FORMATS))
    ),
) -> Response:
    state: ApiState = request.app.state.api
    if format not in FORMATS:
        raise BadParameter("format", f"must be one of {', '.join(FORMATS)}")
    req = params.report_query(raw, state.settings.zone, state.settings.grace_hours, _clock.now())
    report = await run_in_threadpool(build_daily, state, req, children)
    if format == "csv":
        return PlainTextResponse(to_csv(report), media_type="text/csv; charset=utf-8")
    if format == "text":
        names = await run_in_threadpool(_area_names, state, state.settings.focus_area_list)
        return PlainTextResponse(render(report, names))
    return ORJSONResponse(report)
