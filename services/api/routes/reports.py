"""GET /v1/reports/daily (日报告)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import ORJSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from schemas import codes
from services.api import models, params, queries
from services.api.openapi import AUTHENTICATED, errors, ok
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


@router.get(
    "/v1/reports/daily",
    response_model=None,
    responses={
        **ok(
            models.DailyAnswer,
            "section 4 figures and J's section 5 status (with `children=true`, a row per child)",
            {
                "text/csv": "format=csv: a row for J, then one per child; a column per dotted figure name",
                "text/plain": "format=text: a short Chinese report (截至…)",
            },
        ),
        **errors(*AUTHENTICATED, 403, 404),
    },
)
async def get_daily(
    request: Request,
    raw: RawReportQuery = Depends(viewer_params),
    children: bool = Query(False, description="add one row per child jurisdiction"),
    format: str | None = Query(
        None, description="json (default), csv or text", json_schema_extra=documented(enum=list(FORMATS))
    ),
) -> Response:
    state: ApiState = request.app.state.api
    format = params.output_format(format, FORMATS)
    req = params.report_query(raw, state.settings.zone, state.settings.grace_hours, _clock.now())
    report = (await run_in_threadpool(build_daily, state, req, children)).model_dump(mode="json")
    if format == "csv":
        return PlainTextResponse(to_csv(report), media_type="text/csv; charset=utf-8")
    if format == "text":
        names = await run_in_threadpool(_area_names, state, state.settings.focus_area_list)
        return PlainTextResponse(render(report, names))
    return ORJSONResponse(report)
