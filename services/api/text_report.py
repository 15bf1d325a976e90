"""The `text` format of the daily report: a short 日报告 in Chinese."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any


def _short(name: str) -> str:
    """湖北省 -> 湖北, 武汉市 -> 武汉 (the way reports name focus areas)."""
    for suffix in ("维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "特别行政区", "省", "市"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


STATUS_TEXT = {
    "reported": "已按时报告",
    "zero_reported": "已零报告",
    "late": "迟报",
    "missing": "未报告（漏报）",
}


def as_of_text(report: dict[str, Any]) -> str:
    """What 截至 says: the end of the window (截至2020年1月28日24时), or, while
    the window is still open as of `as_of`, the `as_of` time in the reporting
    zone to the minute (截至11月30日9时15分): the figures go no further."""
    as_of = datetime.fromisoformat(report["as_of"])
    if as_of < datetime.fromisoformat(report["window"]["end"]):
        minutes = f"{as_of.minute}分" if as_of.minute else ""
        return f"{as_of.month}月{as_of.day}日{as_of.hour}时{minutes}"
    day = date.fromisoformat(report["date"])
    return f"{day.year}年{day.month}月{day.day}日{int(report['cutoff'][:2])}时"


def render(report: dict[str, Any], area_names: dict[str, str]) -> str:
    f = report["figures"]
    name = report["jurisdiction"]["name"]
    s, iso, cases, venues, cp = f["screened"], f["isolation"], f["cases"], f["venues"], f["checkpoints"]
    origins = "，".join(f"{_short(area_names.get(a, a))}{v['new']}人" for a, v in s["by_origin"].items())
    cur = iso["current"]
    lines = [
        f"截至{as_of_text(report)}，{name}累计排查登记{s['cumulative']}人，"
        f"其中当日新增{s['new']}人" + (f"（{origins}）" if origins else "") + "；",
        f"现有居家隔离{cur['home']}人、集中隔离{cur['centralized']}人、医学观察{cur['medical']}人，"
        f"当日新增隔离{iso['started']['total']}人，解除{iso['ended']['total']}人，"
        f"超期未解除{iso['overdue']}人；当日随访发现症状{f['symptomatic']['new']}人；",
        f"现有疑似病例{cases['suspected']['current']}例，累计确诊{cases['confirmed']['cumulative']}例"
        f"（当日新增{cases['confirmed']['new']}例），累计治愈{cases['recovered']['cumulative']}例，"
        f"累计死亡{cases['deceased']['cumulative']}例，当日排除{cases['excluded']['new']}例；",
        f"当日关停场所{venues['closed']['new']}处、恢复营业{venues['reopened']['new']}处，"
        f"现关停{venues['closed']['current']}处；",
        f"卡口检查人员{cp['people_checked']}人次、车辆{cp['vehicles_checked']}辆次，"
        f"发现发热{cp['fevers_found']}人，劝返{cp['turned_back']}人。",
    ]
    reporting = report.get("reporting")
    if reporting:
        lines.append(f"报告状态：{STATUS_TEXT.get(reporting['status'], reporting['status'])}。")
    return "".join(lines) + "\n"
