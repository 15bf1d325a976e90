"""The query parameters every report endpoint shares (FastAPI dependencies),
with the caller's credential: its role, and the jurisdiction inside its scope."""

from __future__ import annotations

from fastapi import Depends, Query

from services.api.params import RawReportQuery
from services.api.routes.documented import CODE, documented
from services.common.access import require, require_scope
from services.common.credentials import Credential


def report_params(
    jurisdiction: str = Query(
        ..., description="division code, 2/4/6/9/12 digits", json_schema_extra=documented(pattern=CODE)
    ),
    date: str | None = Query(
        None,
        description="report date YYYY-MM-DD (default: today)",
        json_schema_extra=documented(format="date"),
    ),
    cutoff: str | None = Query(
        None,
        description="HH:00, 00:00..24:00 (default 24:00)",
        json_schema_extra=documented(pattern=r"^([01][0-9]|2[0-4]):00$"),
    ),
    as_of: str | None = Query(
        None,
        description="RFC 3339: figures as HQ saw them then (default: now)",
        json_schema_extra=documented(format="date-time"),
    ),
    grace_hours: str | None = Query(
        None,
        description="hours after the window before late, 0..168 (default 2)",
        json_schema_extra=documented(pattern=r"^[0-9]{1,3}(\\.[0-9]{1,6})?$"),
    ),
) -> RawReportQuery:
    return RawReportQuery(jurisdiction, date, cutoff, as_of, grace_hours)


def viewer_params(
    cred: Credential = Depends(require("viewer", "auditor")),
    raw: RawReportQuery = Depends(report_params),
) -> RawReportQuery:
    """Report parameters for a viewer (or auditor) whose scope covers the jurisdiction."""
    require_scope(cred, raw.jurisdiction)
    return raw


def auditor_params(
    cred: Credential = Depends(require("auditor")),
    raw: RawReportQuery = Depends(report_params),
) -> RawReportQuery:
    """Report parameters for an auditor whose scope covers the jurisdiction."""
    require_scope(cred, raw.jurisdiction)
    return raw
