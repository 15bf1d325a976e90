"""GET /v1/reports/zero (零报告)."""

from __future__ import annotations

import csv
import io

from fastapi import APIRouter, Query
from fastapi.responses import ORJSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from services.api import divisions, models, params, xlsx
from services.api.deps import State, ViewerReport
from services.api.openapi import AUTHENTICATED, errors, ok
from services.api.params import ReportQuery
from services.api.report import header, iso
from services.api.routes.documented import UINT, documented
from services.api.state import ApiState
from services.api.zero import STATUSES, zero_report

router = APIRouter()


def build_zero(state: ApiState, q: ReportQuery, raw: dict[str, str | None]) -> models.ZeroReport:
    zone = state.settings.zone
    code, day, as_of = q.code, q.day, q.as_of
    level = params.unit_level(raw["unit_level"], state.settings.reporting_level, code)
    wanted = params.statuses(raw["status"], STATUSES)
    limit = params.bounded_int(raw["limit"], "limit", 100, 1, 10_000)
    offset = params.bounded_int(raw["offset"], "offset", 0, 0, 10**9)
    division = divisions.division(state.store, code)
    window, deadline = q.window, q.deadline
    summary = zero_report(state.store, code, level, day, window, deadline, as_of, wanted, limit, offset)
    submitted = summary.counts["reported"] + summary.counts["zero_reported"]
    expected = summary.expected
    return models.ZeroReport(
        **dict(header(division, q, zone)),
        deadline=iso(deadline),
        unit_level=level,
        expected=expected,
        counts=models.ZeroCounts(**summary.counts),
        zero_report_contradicted=summary.zero_report_contradicted,
        completeness=(submitted + summary.counts["late"]) / expected if expected else 0.0,
        timeliness=submitted / expected if expected else 0.0,
        status=list(wanted),
        total=summary.total,
        limit=limit,
        offset=offset,
        units=[
            models.ZeroUnit(
                code=u.code,
                name=u.name,
                status=u.status,
                submitted_at=iso(u.submitted_at.astimezone(zone)) if u.submitted_at else None,
            )
            for u in summary.units
        ],
    )


#: the CSV's first block: the report's parameters and counts, one row
SUMMARY_COLUMNS = (
    "jurisdiction",
    "name",
    "date",
    "cutoff",
    "as_of",
    "deadline",
    "unit_level",
    "expected",
    "reported",
    "zero_reported",
    "late",
    "missing",
    "zero_report_contradicted",
    "completeness",
    "timeliness",
    "status",
    "total",
    "limit",
    "offset",
)
UNIT_COLUMNS = ("code", "name", "status", "submitted_at")


def to_csv(report: models.ZeroReport) -> str:
    """Two blocks, as the xlsx's report parameters over its rows (contract
    section 6): a header and one row with the parameters and counts, an empty
    line, then a header and one row per listed unit (this page, by code)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SUMMARY_COLUMNS)
    c = report.counts
    writer.writerow(
        [
            report.jurisdiction.code,
            report.jurisdiction.name,
            report.date,
            report.cutoff,
            report.as_of,
            report.deadline,
            report.unit_level,
            report.expected,
            c.reported,
            c.zero_reported,
            c.late,
            c.missing,
            report.zero_report_contradicted,
            report.completeness,
            report.timeliness,
            ",".join(report.status),
            report.total,
            report.limit,
            report.offset,
        ]
    )
    writer.writerow([])
    writer.writerow(UNIT_COLUMNS)
    for u in report.units:
        writer.writerow([u.code, u.name, u.status, u.submitted_at or ""])
    return out.getvalue()


FORMATS = ("json", "csv", "xlsx")


@router.get(
    "/v1/reports/zero",
    response_model=None,
    responses={
        **ok(
            models.ZeroReport,
            "section 5: counts, completeness, timeliness and one page of the units listed",
            {
                "text/csv": "format=csv: the parameters and counts, an empty line, then the units listed",
                xlsx.MEDIA_TYPE: "format=xlsx: the parameters and counts, then the units listed",
            },
        ),
        **errors(*AUTHENTICATED, 403, 404),
    },
)
async def get_zero(
    state: State,
    query: ViewerReport,
    unit_level: str | None = Query(
        None,
        description="province, city, county, town or village",
        json_schema_extra=documented(enum=["province", "city", "county", "town", "village"]),
    ),
    status: str | None = Query(
        None,
        description="comma-separated statuses to list (default missing,late)",
        json_schema_extra=documented(pattern=r"^[a-z_]+(,[a-z_]+)*$"),
    ),
    limit: str | None = Query(
        None, description="units per page, 1..10000 (default 100)", json_schema_extra=documented(pattern=UINT)
    ),
    offset: str | None = Query(
        None, description="units to skip (default 0)", json_schema_extra=documented(pattern=UINT)
    ),
    format: str | None = Query(
        None, description="json (default), csv or xlsx", json_schema_extra=documented(enum=list(FORMATS))
    ),
) -> Response:
    format = params.output_format(format, FORMATS)
    raw = {"unit_level": unit_level, "status": status, "limit": limit, "offset": offset}
    report = await run_in_threadpool(build_zero, state, query, raw)
    if format == "csv":
        return PlainTextResponse(to_csv(report), media_type="text/csv; charset=utf-8")
    if format == "xlsx":
        name = f"ribao-zero-{report.jurisdiction.code}-{report.date}.xlsx"
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        return Response(xlsx.zero(report), media_type=xlsx.MEDIA_TYPE, headers=headers)
    return ORJSONResponse(report.model_dump(mode="json"))
