"""The results file: JSON (everything measured) and a markdown table next to
it (what the README's performance section quotes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.stats import ratio


def targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of issue #8 with the figure measured and whether it was met."""
    out = []

    def add(name: str, value: float | None, target: float, higher_is_better: bool, unit: str) -> None:
        met = None if value is None else (value >= target if higher_is_better else value <= target)
        out.append({"target": name, "value": value, "goal": target, "unit": unit, "met": met})

    if "ingest" in r:
        add("ingest events/s", r["ingest"]["events_per_s"], 10_000, True, "events/s")
    if "freshness" in r:
        f = r["freshness"]
        # what the aggregator folded while the load ran: the events accepted
        # less the backlog left at the end (it starts the stage with none)
        folded = (f["events"] - f.get("backlog_last_events", 0)) / f["seconds"] if f["seconds"] else 0.0
        add("ingest takes the offered 5,000 events/s", f["achieved_events_per_s"], 5000, True, "events/s")
        add("aggregator keeps up: events/s folded under that load", round(folded), 5000, True, "events/s")
        add("freshness p99", f["freshness"]["p99_ms"], 2000, False, "ms")
    for view in r.get("api", {}).get("views", []):
        add(f"{view['view']} p99", view["p99_ms"], view["target_p99_ms"], False, "ms")
    if "replay" in r:
        add("replay of a province-day", r["replay"]["seconds"], 60, False, "s")
        during = r["replay"].get("village_daily_during")
        if during:
            add("village daily p99 during the replay", during["p99_ms"], during["target_p99_ms"], False, "ms")
    return out


def ratios(r: dict[str, Any]) -> dict[str, Any]:
    c = r.get("ceilings", {})
    producer = c.get("kafka_producer", {}).get("events_per_s", 0)
    consumer = c.get("kafka_consumer", {}).get("events_per_s", 0)
    insert = c.get("clickhouse_insert", {}).get("rows_per_s", 0)
    out: dict[str, Any] = {}
    if "ingest" in r:
        out["ingest / kafka producer"] = ratio(r["ingest"]["events_per_s"], producer)
    if "aggregator" in r:
        rate = r["aggregator"]["events_per_s"]
        out["aggregator / kafka consumer"] = ratio(rate, consumer)
        out["aggregator / clickhouse archive insert"] = ratio(rate, insert)
    if "replay" in r:
        rp = r["replay"]
        out["replay / archive read"] = ratio(rp["events_per_s"], rp["ceiling_archive_read"]["rows_per_s"])
    return out


def _r(v: float | None) -> str:
    return "–" if v is None else f"{v:.2f}"


def _n(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.1f}"
    if isinstance(v, int):
        return f"{v:,}"
    return "–" if v is None else str(v)


def markdown(r: dict[str, Any]) -> str:
    m = r["meta"]
    load = r["load"]
    lines = [
        f"# ribao benchmark: {m['mode']} mode, {_n(load['events'])} events, {m['started']}",
        "",
        f"Machine: {m['machine']['cpus']} cores, {m['machine']['mem_gib']} GiB; load average "
        f"{m['machine']['loadavg_start']} at start, {m['machine']['loadavg_end']} at the end. "
        f"Commit {m['commit']}. Command: `{m['command']}`.",
        "",
        f"Load: {_n(load['events'])} events over {load['days']} days ({load['first_day']} .. "
        f"{load['last_day']}) in {_n(load['villages'])} of the {_n(load['province_villages'])} villages "
        f"of {load['province_name']} ({load['province']}): {_n(load['persons'])} persons, "
        f"{_n(load['venues'])} venues, {_n(load['checkpoints'])} checkpoints. "
        f"{_n(load['http_events'])} sent through POST /v1/events, {_n(load['preloaded'])} written "
        "straight to the topic as ingest writes them (preload).",
        "",
        "| stage | measured | ceiling (same run) | ratio |",
        "| --- | ---: | ---: | ---: |",
    ]
    c = r.get("ceilings", {})
    rt = r.get("ratios", {})
    if "ingest" in r:
        i = r["ingest"]
        lat = i["request_latency"]
        procs = r.get("meta", {}).get("options", {}).get("ingest_workers", "1")
        lines.append(
            f"| 1. ingest, POST /v1/events ({i['batch']}/request, {i['senders']} senders, "
            f"{procs} ingest process(es)) | "
            f"{_n(i['events_per_s'])} events/s; request p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms; "
            f"{_n(i.get('cpu_us_per_event'))} µs CPU/event | "
            f"kafka-producer-perf-test {_n(c.get('kafka_producer', {}).get('events_per_s'))} msg/s | "
            f"{_r(rt.get('ingest / kafka producer'))} |"
        )
    if "aggregator" in r:
        a = r["aggregator"]
        lines.append(
            f"| 2. aggregator, sustained ({a.get('workers', 1)} worker(s), backlog of {_n(a['events'])}) | "
            f"{_n(a['events_per_s'])} events/s; {_n(a.get('cpu_us_per_event'))} µs CPU/event | "
            f"kafka-consumer-perf-test {_n(c.get('kafka_consumer', {}).get('events_per_s'))} msg/s; "
            f"ClickHouse archive insert {_n(c.get('clickhouse_insert', {}).get('rows_per_s'))} rows/s | "
            f"{_r(rt.get('aggregator / kafka consumer'))}; "
            f"{_r(rt.get('aggregator / clickhouse archive insert'))} |"
        )
    if "freshness" in r:
        f = r["freshness"]
        fr = f["freshness"]
        lines.append(
            f"| 2. freshness at {_n(f['offered_events_per_s'])} events/s offered "
            f"({_n(f['achieved_events_per_s'])} achieved, {f['seconds']} s) | "
            f"p50 {fr['p50_ms']} ms, p99 {fr['p99_ms']} ms ({f['probes_seen']} probes); "
            f"backlog max {_n(f['backlog_max_events'])} | – | – |"
        )
    for v in r.get("api", {}).get("views", []):
        lines.append(
            f"| 3. {v['view']} | p50 {v['p50_ms']} ms, p99 {v['p99_ms']} ms ({v['n']} runs) | – | – |"
        )
    if "replay" in r:
        p = r["replay"]
        lines.append(
            f"| 4. replay of {p['jurisdiction']} on {p['date']} ({_n(p['events'])} events, "
            f"{p['differences']} differences) | {p['seconds']} s, {_n(p['events_per_s'])} events/s | "
            f"archive read {_n(p['ceiling_archive_read']['rows_per_s'])} rows/s | "
            f"{_r(rt.get('replay / archive read'))} |"
        )
        during = p.get("village_daily_during")
        if during:
            lines.append(
                f"| 4. village daily during the replay | p50 {during['p50_ms']} ms, "
                f"p99 {during['p99_ms']} ms ({during['n']} runs) | – | – |"
            )
    mem = r.get("memory", {})
    if mem:
        peaks = ", ".join(f"{k} {v:,.0f} MiB" for k, v in mem.get("peak_rss_mib", {}).items())
        lines.append(f"| 6. peak memory (VmHWM) | {peaks} | – | – |")
    lines += [
        "",
        "Targets (issues #8 and #13):",
        "",
        "| target | measured | goal | met |",
        "| --- | ---: | ---: | --- |",
    ]
    for t in r.get("targets", []):
        met = {True: "yes", False: "**no**", None: "–"}[t["met"]]
        lines.append(f"| {t['target']} | {_n(t['value'])} {t['unit']} | {_n(t['goal'])} | {met} |")
    notes = r.get("notes", [])
    if notes:
        lines += ["", "Notes:", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def write(r: dict[str, Any], out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(r, indent=2, ensure_ascii=False) + "\n", "utf-8")
    md = out.with_suffix(".md")
    md.write_text(markdown(r), "utf-8")
    return md
