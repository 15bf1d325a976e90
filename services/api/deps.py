"""The API's FastAPI dependencies, as `Annotated` types a route declares:
the app's state, its clock, the caller's credential by role, and the parsed
report query inside the caller's scope. Routes never reach into
`request.app.state` themselves; a test swaps any of these with
`app.dependency_overrides`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Query, Request

from services.api import params
from services.api.params import RawReportQuery, ReportQuery, SeriesQuery
from services.api.routes.documented import CODE, documented
from services.api.state import ApiState
from services.common.access import require, require_scope
from services.common.credentials import Credential


def api_state(request: Request) -> ApiState:
    state: ApiState = request.app.state.api
    return state


State = Annotated[ApiState, Depends(api_state)]


def now(state: State) -> datetime:
    return state.clock.now()


Now = Annotated[datetime, Depends(now)]

#: any credential (the registry holds no figures)
AnyRole = Annotated[Credential, Depends(require("reporter", "viewer", "auditor"))]
Viewer = Annotated[Credential, Depends(require("viewer", "auditor"))]
Auditor = Annotated[Credential, Depends(require("auditor"))]

#: the jurisdiction parameter every report takes
JURISDICTION = Query(
    ..., description="division code, 2/4/6/9/12 digits", json_schema_extra=documented(pattern=CODE)
)
CUTOFF = Query(
    None,
    description="HH:00, 00:00..24:00 (default 24:00)",
    json_schema_extra=documented(pattern=r"^([01][0-9]|2[0-4]):00$"),
)
AS_OF = Query(
    None,
    description="RFC 3339: figures as HQ saw them then (default: now)",
    json_schema_extra=documented(format="date-time"),
)


def raw_report_query(
    jurisdiction: str = JURISDICTION,
    date: str | None = Query(
        None,
        description="report date YYYY-MM-DD (default: today)",
        json_schema_extra=documented(format="date"),
    ),
    cutoff: str | None = CUTOFF,
    as_of: str | None = AS_OF,
    grace_hours: str | None = Query(
        None,
        description="hours after the window before late, 0..168 (default 2)",
        json_schema_extra=documented(pattern=r"^[0-9]{1,3}(\\.[0-9]{1,6})?$"),
    ),
) -> RawReportQuery:
    return RawReportQuery(jurisdiction, date, cutoff, as_of, grace_hours)


Raw = Annotated[RawReportQuery, Depends(raw_report_query)]


def _parsed(cred: Credential, raw: RawReportQuery, state: ApiState, when: datetime) -> ReportQuery:
    """Scope first (a jurisdiction outside it is forbidden whatever else is
    wrong), then every parameter, each error naming its parameter."""
    require_scope(cred, raw.jurisdiction)
    return params.report_query(raw, state.settings.zone, state.settings.grace_hours, when)


def viewer_report(cred: Viewer, raw: Raw, state: State, when: Now) -> ReportQuery:
    return _parsed(cred, raw, state, when)


def auditor_report(cred: Auditor, raw: Raw, state: State, when: Now) -> ReportQuery:
    return _parsed(cred, raw, state, when)


#: a report's parameters, parsed, for a viewer (or auditor) whose scope covers them
ViewerReport = Annotated[ReportQuery, Depends(viewer_report)]
#: the same for an auditor
AuditorReport = Annotated[ReportQuery, Depends(auditor_report)]


def viewer_series(
    cred: Viewer,
    state: State,
    when: Now,
    jurisdiction: str = JURISDICTION,
    from_: str | None = Query(
        None,
        alias="from",
        description="first date YYYY-MM-DD (default: the 30 dates ending on `to`)",
        json_schema_extra=documented(format="date"),
    ),
    to: str | None = Query(
        None, description="last date YYYY-MM-DD (default: today)", json_schema_extra=documented(format="date")
    ),
    cutoff: str | None = CUTOFF,
    as_of: str | None = AS_OF,
) -> SeriesQuery:
    require_scope(cred, jurisdiction)
    zone = state.settings.zone
    return params.series_query(jurisdiction, from_, to, cutoff, as_of, zone, when)


#: a series' parameters, parsed, for a viewer (or auditor) whose scope covers them
ViewerSeries = Annotated[SeriesQuery, Depends(viewer_series)]
