"""Assembling the daily report (contract section 6) from its parts, and the
header every report starts with."""

from __future__ import annotations

import csv
import io
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from schemas import codes
from services.api import divisions, models
from services.api.daily import MISSING, DailyQuery, Reporting, Scope
from services.api.divisions import Division
from services.api.params import ReportQuery
from services.api.state import ApiState
from services.common.figures import flatten
from services.common.windows import format_cutoff

#: runs a report's registry look-ups and children query beside its own
#: (ClickHouse 18.16 spends most of a small query analysing it, on one core:
#: two at once take the time of one on this 2-core machine). Its tasks wait
#: for nothing but their own queries (they may use daily.py's pools, never
#: this one). Its threads keep their ClickHouse connections (ReadStore holds
#: one per thread).
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
    """The report: the registry look-ups, the jurisdiction's own figures and
    status and, with `children`, its children's, all read at once."""
    zone = state.settings.zone
    window, deadline = req.window, req.deadline
    query = DailyQuery(state.store, state.settings.focus_area_list)
    day = req.day.isoformat()
    whole = Scope.whole(req.code)
    found = _BESIDE.submit(divisions.division, state.store, req.code)

    def per_child() -> tuple[list[Division], int, tuple[dict[str, Any], dict[str, Reporting]]]:
        kids = divisions.children(state.store, req.code)
        # the children's level from their codes: a city's children may be towns (东莞)
        digits = len(codes.significant(kids[0].code)) if kids else 0
        result = query.run(Scope(req.code, digits), window, req.as_of, day, deadline) if kids else ({}, {})
        return kids, digits, result

    below = _BESIDE.submit(per_child) if children else None
    figures, reporting = query.run(whole, window, req.as_of, day, deadline)
    division = found.result()  # an unknown code raises here, whatever the rest found
    key = codes.significant(req.code)
    empty = DailyQuery.empty(state.settings.focus_area_list)
    own = models.DailyReport(
        **dict(header(division, req, zone)),
        figures=models.Figures.model_validate(figures.get(key, empty)),
        reporting=_reporting(reporting.get(key, MISSING), deadline, zone),
    )
    if not children:
        return own
    rows: list[models.DailyRow] = []
    if below is not None:
        kids, digits, (child_figures, child_reporting) = below.result()
        for kid in kids:
            k = kid.code[:digits]
            rows.append(
                models.DailyRow(
                    jurisdiction=jurisdiction(kid),
                    figures=models.Figures.model_validate(child_figures.get(k, empty)),
                    reporting=_reporting(child_reporting.get(k, MISSING), deadline, zone),
                )
            )
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
