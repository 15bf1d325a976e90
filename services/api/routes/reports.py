"""GET /v1/reports/daily (日报告) and GET /v1/reports/series."""

from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import ORJSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from schemas import codes
from services.api import divisions, models, params, series, xlsx
from services.api.deps import State, ViewerReport, ViewerSeries
from services.api.openapi import AUTHENTICATED, errors, ok
from services.api.report import build_daily, to_csv
from services.api.routes.documented import documented
from services.api.state import ApiState
from services.api.text_report import render

router = APIRouter()
FORMATS = ("json", "csv", "text", "xlsx")


def _area_names(state: ApiState, areas: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for area in areas:
        try:
            out[area] = divisions.division(state.store, codes.normalize(area)).name
        except Exception:  # an area missing from a deployment's registry keeps its code
            out[area] = area
    return out


def _attachment(kind: str, report: models.ReportHeader) -> dict[str, str]:
    name = f"ribao-{kind}-{report.jurisdiction.code}-{report.date}.xlsx"
    return {"Content-Disposition": f'attachment; filename="{name}"'}


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
                xlsx.MEDIA_TYPE: "format=xlsx: the parameters, then Chinese headings over the dotted "
                "names, a row for J, then one per child",
            },
        ),
        **errors(*AUTHENTICATED, 403, 404),
    },
)
async def get_daily(
    state: State,
    req: ViewerReport,
    children: bool = Query(False, description="add one row per child jurisdiction"),
    format: str | None = Query(
        None,
        description="json (default), csv, text or xlsx",
        json_schema_extra=documented(enum=list(FORMATS)),
    ),
) -> Response:
    format = params.output_format(format, FORMATS)
    built = await run_in_threadpool(build_daily, state, req, children)
    if format == "xlsx":
        names = await run_in_threadpool(_area_names, state, state.settings.focus_area_list)
        book = xlsx.daily(built, names)
        return Response(book, media_type=xlsx.MEDIA_TYPE, headers=_attachment("daily", built))
    if format == "csv":
        return PlainTextResponse(to_csv(built), media_type="text/csv; charset=utf-8")
    report = built.model_dump(mode="json")
    if format == "text":
        names = await run_in_threadpool(_area_names, state, state.settings.focus_area_list)
        return PlainTextResponse(render(report, names))
    return ORJSONResponse(report)


SERIES_FORMATS = ("json", "csv")


@router.get(
    "/v1/reports/series",
    response_model=None,
    responses={
        **ok(
            models.SeriesReport,
            "section 4 figures for each date from `from` to `to` (at most 366), with rolling sums",
            {"text/csv": "format=csv: a row per date; a column per dotted figure name"},
        ),
        **errors(*AUTHENTICATED, 403, 404),
    },
)
async def get_series(
    state: State,
    req: ViewerSeries,
    figures: str | None = Query(
        None,
        description="comma-separated dotted figure names or groups (default: all), e.g. "
        "screened.new,cases.confirmed",
        json_schema_extra=documented(pattern=r"^[a-z0-9_.]+(,[a-z0-9_.]+)*$"),
    ),
    format: str | None = Query(
        None, description="json (default) or csv", json_schema_extra=documented(enum=list(SERIES_FORMATS))
    ),
) -> Response:
    format = params.output_format(format, SERIES_FORMATS)
    report = await run_in_threadpool(series.build_series, state, req, figures)
    if format == "csv":
        return PlainTextResponse(series.to_csv(report), media_type="text/csv; charset=utf-8")
    return ORJSONResponse(series.as_json(report))
