"""`format=xlsx` of the daily and zero reports (contract section 6): one sheet,
the report's parameters in its first rows (a Chinese label, the JSON field,
the value), an empty row, then a row of Chinese headings over a row of the
dotted names, then the report's rows (daily: J, then each child; zero: the
units listed). Cells hold what the JSON holds: integers and rates as
numbers, times as their RFC 3339 text, null as an empty cell. Written with
XlsxWriter."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import xlsxwriter

from services.api import models
from services.common.figures import flatten

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

CATEGORY = {
    "returnee": "返乡人员",
    "overseas": "境外来人",
    "close_contact": "密切接触者",
    "fever_clinic": "发热门诊",
    "other": "其他",
}
MODE = {"home": "居家隔离", "centralized": "集中隔离", "medical": "医学观察", "total": "合计"}
VENUE = {
    "market": "农贸市场",
    "live_poultry": "活禽市场",
    "restaurant": "餐饮场所",
    "entertainment": "娱乐场所",
    "religious": "宗教场所",
    "school": "学校",
    "scenic": "景区",
    "internet_cafe": "网吧",
    "other": "其他",
}
CASE = {
    "suspected": "疑似病例",
    "confirmed": "确诊病例",
    "recovered": "治愈",
    "deceased": "死亡",
    "excluded": "排除",
}
CHECKPOINT = {
    "people_checked": "卡口检查人员（人次）",
    "vehicles_checked": "卡口检查车辆（辆次）",
    "fevers_found": "卡口发现发热（人）",
    "turned_back": "卡口劝返（人）",
}


def figure_heading(name: str, area_names: Mapping[str, str]) -> str:
    """The Chinese heading of a dotted figure name (screened.cumulative -> 累计排查)."""
    p = name.split(".")
    when = {"new": "当日新增", "cumulative": "累计", "current": "现有"}
    if p[0] == "screened":
        if len(p) == 2:
            return f"{when[p[1]]}排查"
        what = CATEGORY[p[2]] if p[1] == "by_category" else f"来自{area_names.get(p[2], p[2])}"
        return f"{when[p[3]]}排查（{what}）"
    if p[0] == "symptomatic":
        return "当日随访发现症状"
    if p[0] == "isolation":
        if p[1] == "overdue":
            return "超期未解除隔离"
        if p[1] == "ended":
            return "当日解除隔离"
        if p[1] == "started":
            return f"当日新增隔离（{MODE[p[2]]}）"
        return "现有隔离（合计）" if p[2] == "total" else f"现有{MODE[p[2]]}"
    if p[0] == "cases":
        return f"{when[p[2]]}{CASE[p[1]]}"
    if p[0] == "venues":
        if p[1] == "closed_by_type":
            return f"现关停{VENUE[p[2]]}"
        return {"closed.new": "当日关停场所", "reopened.new": "当日恢复营业", "closed.current": "现关停场所"}[
            f"{p[1]}.{p[2]}"
        ]
    return CHECKPOINT[p[1]]


Cell = str | int | float | bool | None


class _Sheet:
    def __init__(self, title: str) -> None:
        self.buffer = io.BytesIO()
        self.book = xlsxwriter.Workbook(self.buffer, {"in_memory": True, "strings_to_numbers": False})
        self.sheet = self.book.add_worksheet(title)
        self.bold = self.book.add_format({"bold": True})
        self.muted = self.book.add_format({"font_color": "#666666"})
        self.row = 0

    def line(self, cells: Sequence[Cell], fmt: Any = None) -> None:
        for col, value in enumerate(cells):
            if value is None:
                continue
            if isinstance(value, str):
                # as text, always: a code such as 340826103000 stays a code
                self.sheet.write_string(self.row, col, value, fmt)
            else:
                self.sheet.write(self.row, col, value, fmt)
        self.row += 1

    def parameters(self, rows: Sequence[tuple[str, str, Cell]]) -> None:
        for label, key, value in rows:
            self.line([label, key, value])
        self.line([])

    def table(self, headings: Sequence[str], names: Sequence[str], rows: Sequence[Sequence[Cell]]) -> None:
        self.line(headings, self.bold)
        self.line(names, self.muted)
        for r in rows:
            self.line(r)
        self.sheet.freeze_panes(self.row - len(rows), 2)
        self.sheet.set_column(0, 0, 15)
        self.sheet.set_column(1, 1, 24)
        self.sheet.set_column(2, max(2, len(names) - 1), 14)

    def close(self) -> bytes:
        self.book.close()
        return self.buffer.getvalue()


def _header(report: models.ReportHeader) -> list[tuple[str, str, Cell]]:
    j = report.jurisdiction
    return [
        ("区划代码", "jurisdiction.code", j.code),
        ("辖区", "jurisdiction.name", j.name),
        ("级别", "jurisdiction.level", j.level),
        ("报告日期", "date", report.date),
        ("截止时间", "cutoff", report.cutoff),
        ("数据截至", "as_of", report.as_of),
        ("统计起", "window.start", report.window.start),
        ("统计止", "window.end", report.window.end),
    ]


#: the daily rows' columns before the figures
DAILY_COLUMNS = (
    ("区划代码", "code"),
    ("名称", "name"),
    ("级别", "level"),
    ("报告状态", "reporting.status"),
    ("报告时间", "reporting.submitted_at"),
    ("报告期限", "reporting.deadline"),
    ("零报告被否定", "reporting.zero_report_contradicted"),
)


def daily(report: models.DailyReport, area_names: Mapping[str, str]) -> bytes:
    """J's row, then (with `children=true`) one per child."""
    rows: list[models.DailyReport | models.DailyRow] = [report]
    if isinstance(report, models.DailyReportWithChildren):
        rows += report.children
    names = [n for n, _ in flatten(report.figures.model_dump())]
    out = _Sheet("日报告")
    out.parameters(_header(report))
    table = []
    for row in rows:
        j, r = row.jurisdiction, row.reporting
        flat = dict(flatten(row.figures.model_dump()))
        table.append(
            [
                j.code,
                j.name,
                j.level,
                r.status,
                r.submitted_at,
                r.deadline,
                r.zero_report_contradicted,
                *(flat[n] for n in names),
            ]
        )
    out.table(
        [h for h, _ in DAILY_COLUMNS] + [figure_heading(n, area_names) for n in names],
        [k for _, k in DAILY_COLUMNS] + names,
        table,
    )
    return out.close()


def zero(report: models.ZeroReport) -> bytes:
    """The parameters and counts, then the units listed (this page, by code)."""
    c = report.counts
    out = _Sheet("零报告")
    out.parameters(
        [
            *_header(report),
            ("报告期限", "deadline", report.deadline),
            ("报告单位级别", "unit_level", report.unit_level),
            ("应报单位", "expected", report.expected),
            ("已报告", "counts.reported", c.reported),
            ("零报告", "counts.zero_reported", c.zero_reported),
            ("迟报", "counts.late", c.late),
            ("漏报", "counts.missing", c.missing),
            ("零报告被否定", "zero_report_contradicted", report.zero_report_contradicted),
            ("报告率", "completeness", report.completeness),
            ("及时率", "timeliness", report.timeliness),
            ("列出状态", "status", ",".join(report.status)),
            ("列出单位合计", "total", report.total),
            ("每页", "limit", report.limit),
            ("跳过", "offset", report.offset),
        ]
    )
    out.table(
        ["区划代码", "名称", "状态", "报告时间"],
        ["code", "name", "status", "submitted_at"],
        [[u.code, u.name, u.status, u.submitted_at] for u in report.units],
    )
    return out.close()
