"""The benchmark's quick mode runs end to end on a tiny load and writes every
section of its results file. A smoke test of the benchmark, not a benchmark:
nothing here asserts a time or a rate beyond "measured, and not zero"."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from services.common.config import REPO_DIR, CommonSettings
from tests.integration.harness import require_services


def test_quick_benchmark_writes_every_section(tmp_path: Path) -> None:
    require_services(CommonSettings())
    out = tmp_path / "quick.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "run",
            "--quick",
            "--events",
            "3000",
            "--freshness-seconds",
            "4",
            "--offered-rate",
            "1000",
            "--api-runs",
            "2",
            "--ceiling-records",
            "20000",
            "--out",
            str(out),
        ],
        cwd=REPO_DIR,
        check=True,
    )
    r = json.loads(out.read_text("utf-8"))
    assert r["load"]["events"] > 0 and r["load"]["http_events"] > 0
    c = r["ceilings"]
    assert c["kafka_producer"]["events_per_s"] > 0
    assert c["kafka_consumer"]["events_per_s"] > 0
    assert c["clickhouse_insert"]["rows_per_s"] > 0
    assert r["ingest"]["events_per_s"] > 0 and r["ingest"]["request_latency"]["p99_ms"] > 0
    assert r["aggregator"]["events_per_s"] > 0
    f = r["freshness"]
    assert f["achieved_events_per_s"] > 0 and f["probes_seen"] > 0 and f["freshness"]["p99_ms"] > 0
    views = {v["view"]: v for v in r["api"]["views"]}
    daily = {
        "village daily",
        "county daily",
        "county daily + children",
        "province daily",
        "national daily + children",
    }
    series = {f"{level} series (30 dates)" for level in ("village", "county", "province")}
    assert set(views) == {
        *daily,
        *(f"{v} as of an hour ago" for v in daily),
        "province zero report",
        "national zero report",
        *series,
        "search 许岭",
        "search 石庙 (a province's viewer would see fewer)",
        "search code prefix",
    }
    assert all(v["p50_ms"] > 0 and v["p99_ms"] > 0 for v in views.values())
    assert views["province daily"]["answer"]["screened.cumulative"] > 0
    # a series ends on the report date: its last date is that day's daily report
    for level in ("village", "county", "province"):
        answer = views[f"{level} series (30 dates)"]["answer"]
        assert answer["dates"] == 30
        assert answer["screened.cumulative"] == views[f"{level} daily"]["answer"]["screened.cumulative"]
    assert views["search code prefix"]["answer"]["results"] > 0
    assert r["replay"]["events"] > 0 and r["replay"]["seconds"] > 0
    assert r["replay"]["differences"] == 0
    during = r["replay"]["village_daily_during"]
    assert during["n"] > 0 and during["p99_ms"] > 0
    assert {"ingest", "aggregator", "api"} <= set(r["memory"]["peak_rss_mib"])
    assert all(r["memory"]["peak_rss_mib"][s] > 0 for s in ("ingest", "aggregator", "api"))
    assert r["ratios"]["ingest / kafka producer"] > 0
    assert {t["target"] for t in r["targets"]} >= {"ingest events/s", "freshness p99"}
    md = out.with_suffix(".md").read_text("utf-8")
    assert "| 1. ingest" in md and "| 4. replay" in md
