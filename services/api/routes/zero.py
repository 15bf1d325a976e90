"""GET /v1/reports/zero (零报告)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from services.api import params, queries
from services.api.params import RawReportQuery
from services.api.report import iso
from services.api.routes.documented import UINT, documented
from services.api.routes.query import viewer_params
from services.api.state import ApiState
from services.api.zero import STATUSES, zero_report
from services.common.clock import RecordClock
from services.common.windows import format_cutoff

router = APIRouter()
_clock = RecordClock()


def build_zero(state: ApiState, query: RawReportQuery, raw: dict[str, str | None]) -> dict[str, Any]:
    zone = state.settings.zone
    q = params.report_query(query, zone, state.settings.grace_hours, _clock.now())
    code, day, hour, as_of = q.code, q.day, q.cutoff_hour, q.as_of
    level = params.unit_level(raw["unit_level"], state.settings.reporting_level, code)
    wanted = params.statuses(raw["status"], STATUSES)
    limit = params.bounded_int(raw["limit"], "limit", 100, 1, 10_000)
    offset = params.bounded_int(raw["offset"], "offset", 0, 0, 10**9)
    division = queries.division(state.store, code)
    window, deadline = q.window, q.deadline
    summary = zero_report(state.store, code, level, day, window, deadline, as_of, wanted, limit, offset)
    submitted = summary.counts["reported"] + summary.counts["zero_reported"]
    expected = summary.expected
    return {
        "jurisdiction": {"code": division.code, "name": division.name, "level": division.level},
        "date": day.isoformat(),
        "cutoff": format_cutoff(hour),
        "as_of": iso(as_of.astimezone(zone)),
        "window": {"start": iso(window.start), "end": iso(window.end)},
        "deadline": iso(deadline),
        "unit_level": level,
        "expected": expected,
        "counts": summary.counts,
        "zero_report_contradicted": summary.zero_report_contradicted,
        "completeness": (submitted + summary.counts["late"]) / expected if expected else 0.0,
        "timeliness": submitted / expected if expected else 0.0,
        "status": list(wanted),
        "total": summary.total,
        "limit": limit,
        "offset": offset,
        "units": [
            {
                "code": u.code,
                "name": u.name,
                "status": u.status,
                "submitted_at": iso(u.submitted_at.astimezone(zone)) if u.submitted_at else None,
            }
            for u in summary.units
        ],
    }


@router.get("/v1/reports/zero")
async def get_zero(
    request: Request,
    query: RawReportQuery = Depends(viewer_params),
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
) -> dict[str, Any]:
    state: ApiState = request.app.state.api
    raw = {"unit_level": unit_level, "status": status, "limit": limit, "offset": offset}
    return await run_in_threadpool(build_zero, state, query, raw)
