"""What a run does: the quick (CI smoke) and full presets, overridable one by one."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from services.common.config import REPO_DIR

RESULTS_DIR = REPO_DIR / "bench" / "results"


@dataclass(frozen=True)
class Options:
    mode: str
    #: province whose registry villages carry the load (Shandong = 37)
    province: str
    #: events in the 30-day history (about; the generator reports the exact count)
    events: int
    #: of those, the most recent ones sent through POST /v1/events; the rest
    #: are written straight to the topic as ingest writes them (the preload)
    http_events: int
    days: int
    #: events per POST /v1/events request, and concurrent senders
    batch: int
    senders: int
    #: offered load (events/s through POST /v1/events) while freshness is measured
    #: aggregator workers (processes of one consumer group)
    aggregators: int
    #: ingest processes on the port (RIBAO_INGEST_WORKERS)
    ingest_workers: int
    offered_rate: int
    freshness_seconds: float
    #: timed runs of each API view
    api_runs: int
    #: records / rows in each ceiling measurement
    ceiling_records: int
    #: report date of the replay (YYYY-MM-DD); default: see stages/replay.py
    replay_date: str | None
    token: str | None
    out: Path
    seed: int
    #: keep the database, topics and service logs afterwards
    keep: bool
    #: a remark for the results (e.g. what else ran on the machine)
    note: str | None = None

    def with_overrides(self, **changes: object) -> Options:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[arg-type]


def preset(quick: bool) -> Options:
    if quick:
        return Options(
            mode="quick",
            province="37",
            events=40_000,
            http_events=40_000,
            days=30,
            batch=1000,
            senders=4,
            aggregators=1,
            ingest_workers=2,
            offered_rate=5000,
            freshness_seconds=20,
            api_runs=10,
            ceiling_records=300_000,
            replay_date=None,
            token=None,
            out=RESULTS_DIR / "quick.json",
            seed=8,
            keep=False,
        )
    return Options(
        mode="full",
        province="37",
        events=10_000_000,
        http_events=1_000_000,
        days=30,
        batch=1000,
        senders=4,
        aggregators=1,
        ingest_workers=2,
        offered_rate=5000,
        freshness_seconds=120,
        api_runs=50,
        ceiling_records=2_000_000,
        replay_date=None,
        token=None,
        out=RESULTS_DIR / "full.json",
        seed=8,
        keep=False,
    )
