"""Assembling the daily report (contract section 6) from its parts, and the
header every report starts with."""

from __future__ import annotations

import csv
import io
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from services.api import divisions, models
from services.api.daily import MISSING, DailyQuery, Reporting
from services.api.divisions import Division
from services.api.params import ReportQuery
from services.api.state import ApiState
from services.common.figures import flatten
from services.common.windows import format_cutoff

#: runs a report's registry look-up of its jurisdiction beside its figures
#: (ClickHouse 18.16 spends most of a small query analysing it, on one core:
#: two at once take the time of one on this 2-core machine). Its tasks wait
#: for nothing but their own queries. Its threads keep their ClickHouse
#: connections (ReadStore holds one per thread).
_BESIDE = ThreadPoolExecutor(max_workers=8, thread_name_prefix="report-children")


def iso(ts: datetime) -> str:
    return ts.isoformat(timespec="seconds") if ts.microsecond == 0 else ts.isoformat()


def jurisdiction(division: Division) -> models.Jurisdiction:
    return models.Jurisdiction(code=division.code, name=division.name, level=division.level)


def header(division: Division, req: ReportQuery, zone: Any) -> models.ReportHeader:
    """What every report on `division` says first."""
    window = req.window
    return models.ReportHeader(
        jurisdiction=jurisdiction(division),
        date=req.day.isoformat(),
        cutoff=format_cutoff(req.cutoff_hour),
        as_of=iso(req.as_of.astimezone(zone)),
        window=models.Window(start=iso(window.start), end=iso(window.end)),
    )


def _reporting(r: Reporting, deadline: datetime, zone: Any) -> models.Reporting:
    return models.Reporting(
        status=r.status,
        submitted_at=iso(r.submitted_at.astimezone(zone)) if r.submitted_at else None,
        deadline=iso(deadline),
        zero_report_contradicted=r.zero_report_contradicted,
    )


def build_daily(state: ApiState, req: ReportQuery, children: bool) -> models.DailyReport:
    """The report: the jurisdiction's own figures and status and, with
    `children`, its children's, read in one set of queries (the codes of
    both in each), beside the registry look-up of the jurisdiction."""
    zone = state.settings.zone
    window, deadline = req.window, req.deadline
    query = DailyQuery(state.store, state.settings.focus_area_list)
    found = _BESIDE.submit(divisions.division, state.store, req.code)
    kids = divisions.children(state.store, req.code) if children else []
    group_codes = [req.code, *(kid.code for kid in kids)]
    figures, reporting = query.run(req.code, group_codes, window, req.as_of, req.day.isoformat(), deadline)
    division = found.result()  # an unknown code raises here, whatever the rest found
    empty = DailyQuery.empty(state.settings.focus_area_list)
    own = models.DailyReport(
        **dict(header(division, req, zone)),
        figures=models.Figures.model_validate(figures.get(req.code, empty)),
        reporting=_reporting(reporting.get(req.code, MISSING), deadline, zone),
    )
    if not children:
        return own
    rows = [
        models.DailyRow(
            jurisdiction=jurisdiction(kid),
            figures=models.Figures.model_validate(figures.get(kid.code, empty)),
            reporting=_reporting(reporting.get(kid.code, MISSING), deadline, zone),
        )
        for kid in kids
    ]
    return models.DailyReportWithChildren(**dict(own), children=rows)


def to_csv(report: models.DailyReport) -> str:
    """One row for the jurisdiction, then one per child; a column per figure."""
    rows: list[models.DailyReport | models.DailyRow] = [report]
    if isinstance(report, models.DailyReportWithChildren):
        rows += report.children
    names = [n for n, _ in flatten(report.figures.model_dump())]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "code",
            "name",
            "level",
            "date",
            "cutoff",
            "as_of",
            "reporting.status",
            "reporting.submitted_at",
            "reporting.deadline",
            *names,
        ]
    )
    for row in rows:
        j, r = row.jurisdiction, row.reporting
        flat = dict(flatten(row.figures.model_dump()))
        writer.writerow(
            [
                j.code,
                j.name,
                j.level,
                report.date,
                report.cutoff,
                report.as_of,
                r.status,
                r.submitted_at or "",
                r.deadline,
                *(flat[n] for n in names),
            ]
        )
    return out.getvalue()
