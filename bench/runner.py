"""One benchmark run, stage by stage (see README, Performance)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench import ceilings, results
from bench.loadgen import History, load_region
from bench.memory import MemorySampler, hwm_mib
from bench.options import Options
from bench.records import record_value
from bench.stack import Stack, new_stack
from bench.stages import aggregator, api, freshness, ingest, preload, replay
from services.common.config import REPO_DIR, CommonSettings
from services.ingest.config import DEV_HMAC_KEY


def say(msg: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def loadavg() -> str:
    return " ".join(open("/proc/loadavg").read().split()[:3])


def commit() -> str:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_DIR, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO_DIR, capture_output=True, text=True)
        return rev + ("+changes" if dirty.stdout.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _mean_record_bytes(history: History, sample: int = 5000) -> int:
    sizes = [
        len(record_value(e, rec, DEV_HMAC_KEY)) for _, (e, rec) in zip(range(sample), history, strict=False)
    ]
    return round(sum(sizes) / len(sizes))


def _infra_pids() -> dict[str, int]:
    """Kafka and ClickHouse (shared with others: for information only)."""
    home = os.environ.get("RIBAO_HOME", str(REPO_DIR / ".stack"))
    out = {}
    for name, path in (
        ("kafka (shared)", "kafka/kafka.pid"),
        ("clickhouse (shared)", "clickhouse/clickhouse.pid"),
    ):
        with contextlib.suppress(OSError, ValueError):
            out[name] = int(Path(home, path).read_text().strip())
    return out


def run(opts: Options, command: str) -> dict[str, Any]:
    settings = CommonSettings()
    zone = ZoneInfo(settings.timezone)
    now = datetime.now(UTC)
    r: dict[str, Any] = {
        "meta": {
            "mode": opts.mode,
            "started": now.astimezone(zone).isoformat(timespec="seconds"),
            "command": command,
            "commit": commit(),
            "machine": {
                "cpus": os.cpu_count(),
                "mem_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
                "loadavg_start": loadavg(),
            },
            "options": {k: str(v) for k, v in vars(opts).items() if k != "token"},
        },
        "notes": [opts.note] if opts.note else [],
    }
    say(f"load: registry villages of province {opts.province}")
    region = load_region(settings.registry_dir, opts.province, opts.events, opts.seed)
    history = History(region, opts.events, opts.days, zone, now, opts.seed)
    record_bytes = _mean_record_bytes(History(region, opts.events, opts.days, zone, now, opts.seed))
    say(f"stack: database, topic, registry ({len(region.villages):,} villages in scope)")
    stack = new_stack(opts.token, zero_window_days=opts.days + 2, ingest_workers=opts.ingest_workers)
    sampler = MemorySampler(lambda: {**stack.pids(), **_infra_pids()}).start()
    try:
        _stages(opts, r, stack, sampler, region, history, record_bytes, zone)
    finally:
        sampler.stop()
        r["memory"] = {
            "peak_rss_mib": {k: round(v) for k, v in sampler.hwm.items()},
            "peak_rss_mib_by_stage": {
                s: {k: round(v) for k, v in p.items()} for s, p in sampler.peaks.items()
            },
            "cpu_seconds_by_stage": sampler.cpu,
            "how": "VmHWM (kernel's resident high-water mark) of each process, read from /proc before it "
            "stops; per stage: the largest VmRSS sampled twice a second. Kafka and ClickHouse are shared "
            "with other users of the machine.",
        }
        say("cleaning up")
        stack.teardown(opts.keep)
    r["meta"]["machine"]["loadavg_end"] = loadavg()
    r["meta"]["finished"] = datetime.now(zone).isoformat(timespec="seconds")
    cpu = sampler.cpu
    for stage in ("ingest", "aggregator"):
        used = sum(v for k, v in cpu.get(stage, {}).items() if k.startswith(stage))
        if stage in r and used and r[stage].get("events"):
            r[stage]["cpu_us_per_event"] = round(1e6 * used / r[stage]["events"], 1)
            server = cpu.get(stage, {}).get("clickhouse (shared)", 0.0)
            r[stage]["clickhouse_cpu_us_per_event"] = round(1e6 * server / r[stage]["events"], 1)
    r["targets"] = results.targets(r)
    r["ratios"] = results.ratios(r)
    return r


def _stages(
    opts: Options,
    r: dict[str, Any],
    stack: Stack,
    sampler: MemorySampler,
    region: Any,
    history: History,
    record_bytes: int,
    zone: ZoneInfo,
) -> None:
    # 5. ceilings first, on a machine where nothing of ours runs yet
    sampler.enter("ceilings")
    say(f"ceilings: kafka-producer-perf-test, {opts.ceiling_records:,} records of {record_bytes} bytes")
    topic = f"ribao.bench.{stack.tag}.ceiling"
    stack.extra_topics.append(topic)
    group = f"ribao-bench-{stack.tag}-ceiling"
    stack.extra_groups.append(group)
    c: dict[str, Any] = {}
    c["kafka_producer"] = ceilings.kafka_producer(stack.settings, topic, opts.ceiling_records, record_bytes)
    say(f"  {c['kafka_producer']['events_per_s']:,} records/s; kafka-consumer-perf-test")
    c["kafka_consumer"] = ceilings.kafka_consumer(stack.settings, topic, opts.ceiling_records, group)
    say(f"  {c['kafka_consumer']['events_per_s']:,} records/s; ClickHouse insert, archive rows")
    c["clickhouse_insert"] = ceilings.clickhouse_insert(stack.settings, opts.ceiling_records, record_bytes)
    say(f"  {c['clickhouse_insert']['rows_per_s']:,} rows/s")
    r["ceilings"] = c

    sampler.enter("preload")
    say("starting ingest and api")
    stack.start("ingest")
    stack.start("api")
    keep = min(opts.http_events, opts.events * 2)
    say(f"load: generating ~{opts.events:,} events; all but the last {keep:,} go straight to the topic")
    http_events, pre = preload.split_and_preload(stack.settings, history, opts.events, keep)
    summary = history.summary
    r["load"] = {
        "province": region.province,
        "province_name": region.name,
        "province_villages": region.all_villages,
        **summary.as_dict(),
        "http_events": len(http_events),
        "preloaded": pre["events"],
        "mean_record_bytes": record_bytes,
    }
    if pre["events"]:
        r["preload"] = pre
    say(f"  {summary.total:,} events generated ({pre['events']:,} preloaded)")

    sampler.enter("ingest")
    say(f"1. ingest: {len(http_events):,} events, {opts.batch} per request, {opts.senders} senders")
    requests = ingest.bodies(http_events, opts.batch)
    del http_events
    r["ingest"] = ingest.run(stack.ingest_url, stack.token, requests, opts.senders)
    del requests
    say(f"  {r['ingest']['events_per_s']:,} events/s, p99 {r['ingest']['request_latency']['p99_ms']} ms")

    sampler.enter("aggregator")
    say(f"2. aggregator: {opts.aggregators} worker(s) started on the backlog")
    r["aggregator"] = aggregator.run(stack, max(600.0, summary.total / 500), opts.aggregators)
    say(f"  {r['aggregator']['events_per_s']:,} events/s")

    sampler.enter("freshness")
    say(f"2. freshness: {opts.offered_rate:,} events/s offered for {opts.freshness_seconds:.0f}s")
    # a seed of its own: the same seed would repeat the history's event ids
    live_seed = opts.seed * 7919 + 17
    r["freshness"] = freshness.run(stack, region, opts.offered_rate, opts.freshness_seconds, zone, live_seed)
    f = r["freshness"]
    say(f"  achieved {f['achieved_events_per_s']:,} events/s, freshness p99 {f['freshness']['p99_ms']} ms")
    aggregator.wait_folded(stack.settings, stack.group, 1800, "catching up")
    aggregator.wait_recounted(stack.settings, stack.group, 1800)  # the counts complete too
    time.sleep(1)

    sampler.enter("api")
    last_day = summary.first_day + timedelta(days=summary.days - 1)
    say(f"3. api: {opts.api_runs} runs of each view, date {last_day}")
    r["api"] = api.run(stack, region.province, last_day.isoformat(), opts.api_runs)
    for v in r["api"]["views"]:
        say(f"  {v['view']}: p50 {v['p50_ms']} ms, p99 {v['p99_ms']} ms")

    sampler.enter("replay")
    day = (
        date.fromisoformat(opts.replay_date)
        if opts.replay_date
        else replay.pick_day(summary.first_day, summary.per_day)
    )
    say(f"4. replay: GET /v1/audit/replay for {region.province} on {day}")
    village = r["api"]["views"][0]["params"]["jurisdiction"]
    r["replay"] = replay.run(stack, region.province, day, zone, village)
    say(f"  {r['replay']['events']:,} events in {r['replay']['seconds']} s")
    for name, pid in stack.pids().items():
        r.setdefault("memory_hwm_end", {})[name] = round(hwm_mib(pid))
    r["notes"] += [
        "Ingest was measured alone (aggregator not yet started); the aggregator then drained the "
        "whole backlog alone; freshness ran everything at once (bench client, ingest, aggregator, "
        "API, Kafka, ClickHouse on the same machine).",
        f"The ingest service ran with RIBAO_ZERO_REPORT_WINDOW_DAYS={opts.days + 2} so that the "
        "history's 零报告 (up to 30 days old) are inside the window.",
    ]
    if r.get("preload"):
        r["notes"].append(
            "Preloaded events carry a simulated recorded_at (minutes after they happened, 3% a day "
            "late); events sent through POST /v1/events are stamped by ingest as usual."
        )


def main(opts: Options, command: str) -> None:
    started = time.perf_counter()
    r = run(opts, command)
    r["meta"]["seconds"] = round(time.perf_counter() - started)
    md = results.write(r, opts.out)
    print(md.read_text("utf-8"))
    say(f"results: {opts.out} and {md} ({r['meta']['seconds']} s)")
