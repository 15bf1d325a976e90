"""Stage 4: the auditor's replay of one province-day, GET /v1/audit/replay:
the events behind (province, D) read back from the archive, every figure
recomputed from them by the reference implementation, and compared with the
served figures. Its ceiling: streaming the same archive rows out of
ClickHouse and nothing else.

D defaults to the first day of the history with about a million events behind
it (the issue's province-day), or the last day when the load is smaller."""

from __future__ import annotations

import itertools
import threading
import time
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bench import http
from bench.stack import Stack
from bench.stats import latency_summary
from schemas import codes
from schemas.events import parse_rfc3339
from services.api.replay_figures import EVENTS_BY_SUBJECT_SQL, archive_params
from services.api.store import ReadStore
from services.common.windows import report_window

AROUND = 1_000_000


def pick_day(first_day: date, per_day: list[int]) -> date:
    running = itertools.accumulate(per_day)
    for i, total in enumerate(running):
        if total >= AROUND:
            return first_day + timedelta(days=i)
    return first_day + timedelta(days=len(per_day) - 1)


#: issue #13: a village's daily report while an auditor replays a province-day
VILLAGE_DURING_REPLAY_P99_MS = 100


def run(stack: Stack, province: str, day: date, zone: ZoneInfo, village: str | None = None) -> dict[str, Any]:
    """The replay; meanwhile, when `village` is given, HQ's daily report of that
    village over and over (does the auditor starve HQ?)."""
    params = {"jurisdiction": province, "date": day.isoformat(), "limit": "1"}
    done = threading.Event()
    during: list[float] = []

    def hq() -> None:
        with http.client(stack.api_url, stack.token) as c:
            while not done.is_set():
                t = time.perf_counter()
                c.get("/v1/reports/daily", params={"jurisdiction": village}).raise_for_status()
                during.append((time.perf_counter() - t) * 1000)
                done.wait(0.1)

    reader = threading.Thread(target=hq, name="hq-during-replay") if village else None
    with http.client(stack.api_url, stack.token, timeout=3600) as c:
        if reader is not None:
            reader.start()
        t = time.perf_counter()
        try:
            r = c.get("/v1/audit/replay", params=params)
        finally:
            seconds = time.perf_counter() - t
            done.set()
            if reader is not None:
                reader.join()
    r.raise_for_status()
    body = r.json()
    code = codes.normalize(province)
    window = report_window(day, 24, zone)
    as_of = parse_rfc3339(body["as_of"])
    store = ReadStore(stack.settings)
    t = time.perf_counter()
    rows = sum(1 for _ in store.iterate(EVENTS_BY_SUBJECT_SQL, archive_params(code, window, as_of)))
    raw_s = time.perf_counter() - t
    total = int(body["total_events"])
    return {
        "jurisdiction": province,
        "date": day.isoformat(),
        "events": total,
        "seconds": round(seconds, 2),
        "events_per_s": round(total / seconds) if seconds else 0,
        "differences": len(body["differences"]),
        "village_daily_during": (
            {"village": village, **latency_summary(during), "target_p99_ms": VILLAGE_DURING_REPLAY_P99_MS}
            if during
            else None
        ),
        "ceiling_archive_read": {
            "rows": rows,
            "seconds": round(raw_s, 2),
            "rows_per_s": round(rows / raw_s) if raw_s else 0,
        },
    }
