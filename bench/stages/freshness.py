"""Stage 2b: freshness at a fixed offered load, with everything running.

Today's traffic is posted through POST /v1/events at `rate` events/s (open
loop: one request of rate/10 events every 100 ms, whatever the previous ones
are doing), and every 0.5 s a probe: a screening of a new person in a
village of another province, where nothing else happens. A poller reads that
village's daily report for today over and over; the report's
`screened.new` counts the probes it shows. The probes share one partition
(one county), which the aggregator folds in offset order, so when the count
reaches k the k first probes by offset are visible. A probe's freshness is
the time the first response showing it was received, minus its recorded_at
(read from the archive afterwards): recorded_at until visible in the daily
report, the report's own latency included.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from bench import http
from bench.loadgen import Region, live_events, probe_event
from bench.stack import Stack
from bench.stages import ingest
from bench.stages.aggregator import archived
from bench.stats import latency_summary, percentile
from services.common.clickhouse import client

TICK_S = 0.1
PROBE_EVERY_S = 0.5


def run(stack: Stack, region: Region, rate: int, seconds: float, zone: ZoneInfo, seed: int) -> dict[str, Any]:
    per_tick = max(1, round(rate * TICK_S))
    ticks = max(1, round(seconds / TICK_S))
    now = datetime.now(zone)
    events = live_events(region, per_tick * ticks, now, zone, seed)
    requests = ingest.bodies([orjson.dumps(e) for e in events], per_tick)
    day = now.date().isoformat()
    probes: list[tuple[str, int]] = []  # (event_id, offset)
    counts: list[tuple[float, int]] = []  # (time a response was received, probes it showed)
    latencies: list[float] = []
    backlog: list[int] = []
    acked = {"events": 0, "last": 0.0}
    lock = threading.Lock()
    stop = threading.Event()
    local = threading.local()
    archived_before = archived(stack.settings)

    def conn() -> Any:
        if getattr(local, "c", None) is None:
            local.c = http.client(stack.ingest_url, stack.token)
        return local.c

    def send(n: int, body: bytes) -> None:
        t = time.perf_counter()
        ingest.post(conn(), body)
        with lock:
            latencies.append((time.perf_counter() - t) * 1000)
            acked["events"] += n
            acked["last"] = time.perf_counter()

    def prober() -> None:
        with http.client(stack.ingest_url, stack.token) as c:
            n = 0
            while not stop.is_set():
                n += 1
                event = probe_event(region, n, now, zone, stack.tag)
                r, _ = ingest.post(c, orjson.dumps([event]))
                probes.append((event["event_id"], int(r.json()["events"][0]["offset"])))
                stop.wait(PROBE_EVERY_S)

    def poller() -> None:
        params = {"jurisdiction": region.probe_village, "date": day}
        with http.client(stack.api_url, stack.token) as c:
            while not stop.is_set() or (probes and (not counts or counts[-1][1] < len(probes))):
                r = c.get("/v1/reports/daily", params=params)
                r.raise_for_status()
                counts.append((time.time(), int(r.json()["figures"]["screened"]["new"])))
                if stop.is_set() and time.perf_counter() - acked["last"] > 120:
                    return
                time.sleep(0.2)  # a dashboard's pace: the poller must not be the load

    def watcher() -> None:
        # events acknowledged (the load's and the probes) and not archived yet
        while not stop.is_set():
            with lock:
                sent = int(acked["events"]) + len(probes)
            backlog.append(sent - (archived(stack.settings) - archived_before))
            stop.wait(1.0)

    helpers = [threading.Thread(target=f, name=f.__name__) for f in (prober, poller, watcher)]
    for th in helpers:
        th.start()
    started = time.perf_counter()
    failures: list[BaseException] = []
    with ThreadPoolExecutor(max_workers=16, thread_name_prefix="load") as pool:
        futures = []
        for i, (n, body) in enumerate(requests):
            delay = started + i * TICK_S - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(send, n, body))
        for f in futures:
            if f.exception() is not None:
                failures.append(f.exception())  # type: ignore[arg-type]
    load_s = acked["last"] - started
    stop.set()
    for th in helpers:
        th.join()
    if failures:
        raise failures[0]
    recorded = dict(
        client(stack.settings).execute(
            "SELECT event_id, min(recorded_us) FROM events WHERE event_id IN %(ids)s GROUP BY event_id",
            {"ids": tuple(eid for eid, _ in probes)},
        )
    )
    fresh_ms: list[float] = []
    for k, (eid, _offset) in enumerate(sorted(probes, key=lambda p: p[1])):
        seen = next((t for t, c in counts if c >= k + 1), None)
        if seen is not None and eid in recorded:
            fresh_ms.append((seen - recorded[eid] / 1_000_000) * 1000)
    return {
        "offered_events_per_s": rate,
        "achieved_events_per_s": round(acked["events"] / load_s) if load_s > 0 else 0,
        "events": acked["events"],
        "seconds": round(load_s, 1),
        "request_batch": per_tick,
        "request_latency": latency_summary(latencies),
        "probes": len(probes),
        "probes_seen": len(fresh_ms),
        "freshness": latency_summary(fresh_ms),
        "freshness_p90_ms": round(percentile(fresh_ms, 90), 1),
        "report_polls": len(counts),
        "backlog_max_events": max(backlog) if backlog else 0,
        "backlog_last_events": backlog[-1] if backlog else 0,
    }
