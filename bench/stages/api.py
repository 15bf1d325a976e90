"""Stage 3: API latency with the whole load in the store (aggregator idle,
caught up). Each view is asked once to warm up, then `runs` times in a row;
the report date is the history's last day, as of now.

The village is the busiest of the load (most fact rows), the county is its
county: the slowest of their kind."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench import http
from bench.stack import Stack
from bench.stages.progress import Progress
from bench.stats import latency_summary
from schemas import codes
from services.common.clickhouse import client

BUSIEST_SQL = """
SELECT jurisdiction, count() AS n FROM facts
WHERE jurisdiction >= %(lo)s AND jurisdiction <= %(hi)s
GROUP BY jurisdiction ORDER BY n DESC, jurisdiction LIMIT 1"""

#: p99 targets (issue #13; the 零报告's are issue #8's; the series' and
#: search's issue #14's): the daily reports as of one hour ago get twice their
#: target
TARGETS_MS = {
    "village daily": 50,
    "county daily": 100,
    "county daily + children": 100,
    "province daily": 300,
    "national daily + children": 1000,
    "province zero report": 300,
    "national zero report": 1000,
    "search 许岭": 50,
    "search 石庙 (a province's viewer would see fewer)": 50,
    "search code prefix": 50,
}
AN_HOUR_AGO = " as of an hour ago"
#: a series of 30 dates: within twice the p99 measured for the daily report of
#: the same jurisdiction (issue #14)
SERIES = {
    "village series (30 dates)": "village daily",
    "county series (30 dates)": "county daily",
    "province series (30 dates)": "province daily",
}
SERIES_PATH = "/v1/reports/series"
SEARCH_PATH = "/v1/jurisdictions"


def busiest_village(stack: Stack, province: str) -> str:
    lo, hi = codes.subtree_range(codes.normalize(province))
    return str(client(stack.settings).execute(BUSIEST_SQL, {"lo": lo, "hi": hi})[0][0])


def views(
    stack: Stack, province: str, hour_ago: datetime | None = None
) -> list[tuple[str, str, dict[str, str]]]:
    """The timed views; "as of an hour ago" is `hour_ago` (default: an hour before now)."""
    village = busiest_village(stack, province)
    daily = [
        ("village daily", {"jurisdiction": village}),
        ("county daily", {"jurisdiction": village[:6]}),
        ("county daily + children", {"jurisdiction": village[:6], "children": "true"}),
        ("province daily", {"jurisdiction": province}),
        ("national daily + children", {"jurisdiction": "00", "children": "true"}),
    ]
    before = (hour_ago or datetime.now(UTC) - timedelta(hours=1)).isoformat()
    return [
        *((name, "/v1/reports/daily", params) for name, params in daily),
        *((name + AN_HOUR_AGO, "/v1/reports/daily", {**params, "as_of": before}) for name, params in daily),
        ("province zero report", "/v1/reports/zero", {"jurisdiction": province}),
        ("national zero report", "/v1/reports/zero", {"jurisdiction": "00"}),
        ("village series (30 dates)", SERIES_PATH, {"jurisdiction": village}),
        ("county series (30 dates)", SERIES_PATH, {"jurisdiction": village[:6]}),
        ("province series (30 dates)", SERIES_PATH, {"jurisdiction": province}),
        ("search 许岭", SEARCH_PATH, {"q": "许岭"}),
        ("search 石庙 (a province's viewer would see fewer)", SEARCH_PATH, {"q": "石庙"}),
        ("search code prefix", SEARCH_PATH, {"q": village[:9]}),
    ]


def target_ms(name: str, measured: dict[str, float]) -> float:
    """A view's p99 target; a series' is twice its daily report's p99 `measured`."""
    if name in SERIES:
        return 2 * measured[SERIES[name]]
    if name.endswith(AN_HOUR_AGO):
        return 2 * TARGETS_MS[name.removesuffix(AN_HOUR_AGO)]
    return TARGETS_MS[name]


def _facts(name: str, body: dict[str, Any]) -> dict[str, Any]:
    """A few numbers of the answer, to show the store was not empty."""
    if "dates" in body:
        return {
            "dates": len(body["dates"]),
            "screened.cumulative": body["dates"][-1]["figures"]["screened"]["cumulative"],
        }
    if "results" in body:
        return {
            "results": len(body["results"]),
            "first": body["results"][0]["name"] if body["results"] else None,
        }
    if "figures" in body:
        f = body["figures"]
        out = {
            "screened.cumulative": f["screened"]["cumulative"],
            "isolation.current": f["isolation"]["current"]["total"],
        }
        if "children" in body:
            out["children"] = len(body["children"])
        return out
    return {"expected": body["expected"], "counts": body["counts"]}


MIN_RUNS = 5


def run(
    stack: Stack,
    province: str,
    day: str,
    runs: int,
    budget_s: float = 120.0,
    hour_ago: datetime | None = None,
) -> dict[str, Any]:
    """Each view `runs` times, or as many as fit in `budget_s` (at least
    MIN_RUNS): a slow view's count says how many were timed."""
    out: dict[str, Any] = {"date": day, "runs": runs, "budget_s_per_view": budget_s, "views": []}
    measured: dict[str, float] = {}
    with http.client(stack.api_url, stack.token) as c:
        for name, path, params in views(stack, province, hour_ago):
            # a series ends on the day (30 dates by default); a search has no date
            when = {SERIES_PATH: {"to": day}, SEARCH_PATH: {}}.get(path, {"date": day})
            query = {**params, **when}
            first = c.get(path, params=query)
            first.raise_for_status()
            times = []
            progress = Progress(f"api {name}", runs)
            started = time.perf_counter()
            for i in range(runs):
                if i >= MIN_RUNS and time.perf_counter() - started > budget_s:
                    break
                t = time.perf_counter()
                c.get(path, params=query).raise_for_status()
                times.append((time.perf_counter() - t) * 1000)
                progress.update(i + 1)
            summary = latency_summary(times)
            measured[name] = summary["p99_ms"]
            out["views"].append(
                {
                    "view": name,
                    "path": path,
                    "params": query,
                    **summary,
                    "target_p99_ms": target_ms(name, measured),
                    "answer": _facts(name, first.json()),
                }
            )
    return out
