"""python -m bench reads --results RUN.json --database DB [--runs 50] [--replay] [--out PATH]

The benchmark's API stage (bench/stages/api.py) alone, over the database a
run kept (`python -m bench run --keep`): this checkout's API is started on
it and the run's views are timed again with the run's own date, province
and "as of an hour ago". One API version timed over two runs' databases
(1 M and 10 M events) shows whether a read grows with the events behind it
(issue #13: 10 M / 1 M <= 1.5). Nothing else of ours runs meanwhile; the
kept database is left as it was (one credential added to use it).
With --replay, the run's replay stage too (bench/stages/replay.py): its
province-day replayed and compared with what this API serves, a village's
daily report timed meanwhile.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench import http
from bench.runner import commit, loadavg
from bench.stack import kept_stack
from bench.stages import api, replay

DEFAULT_RUNS = 50


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench reads", description=__doc__)
    p.add_argument("--results", type=Path, required=True, help="the kept run's results file (JSON)")
    p.add_argument("--database", required=True, help="the kept run's database (ribao_bench_<tag>)")
    p.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="timed runs of each view")
    p.add_argument("--out", type=Path, help="results file (JSON; the table goes next to it as .md)")
    p.add_argument("--note", default="", help="a remark for the results")
    p.add_argument(
        "--replay",
        action="store_true",
        help="also the run's replay of a province-day, with a village timed meanwhile",
    )
    return p


def run_facts(results: Path) -> tuple[str, str, datetime, int]:
    """The run's province, report date, "an hour ago" and event count."""
    try:
        r = json.loads(results.read_text("utf-8"))
        views = {v["view"]: v for v in r["api"]["views"]}
        hour_ago = datetime.fromisoformat(views["village daily" + api.AN_HOUR_AGO]["params"]["as_of"])
        return str(r["load"]["province"]), str(r["api"]["date"]), hour_ago, int(r["load"]["events"])
    except (OSError, ValueError, KeyError) as exc:
        raise SystemExit(f"--results: {results} is not a bench run's results file ({exc!r})") from None


def replay_target(results: Path) -> tuple[str, date, str | None]:
    """The run's replayed province, date and village timed meanwhile."""
    try:
        rp = json.loads(results.read_text("utf-8"))["replay"]
        during = rp.get("village_daily_during") or {}
        return str(rp["jurisdiction"]), date.fromisoformat(rp["date"]), during.get("village")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SystemExit(f"--replay: {results} holds no replay stage ({exc!r})") from None


def markdown(r: dict[str, Any]) -> str:
    m = r["meta"]
    lines = [
        f"# ribao benchmark: reads over a kept run's database, {m['events']:,} events, {m['started']}",
        "",
        f"Machine: {m['cpus']} cores; load average {m['loadavg_start']} at start, {m['loadavg_end']} at "
        f"the end. Commit {m['commit']}. Command: `{m['command']}`.",
        "",
        f"Database {m['database']} (kept by the run of `{m['results']}`), date {r['api']['date']}; "
        "this checkout's API, nothing else of ours running.",
        "",
    ]
    if m.get("note"):
        lines += [f"Note: {m['note']}", ""]
    lines += [
        "| view | p50 ms | p99 ms | runs | p99 target ms | met |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for v in r["api"]["views"]:
        met = "yes" if v["p99_ms"] <= v["target_p99_ms"] else "**no**"
        lines.append(
            f"| {v['view']} | {v['p50_ms']} | {v['p99_ms']} | {v['n']} | {v['target_p99_ms']:g} | {met} |"
        )
    if r.get("replay"):
        rp = r["replay"]
        lines += [
            "",
            f"Replay of {rp['jurisdiction']} on {rp['date']}: {rp['events']:,} events in {rp['seconds']} s "
            f"({rp['events_per_s']:,} events/s), {rp['differences']} differences from the served figures.",
        ]
        d = rp.get("village_daily_during")
        if d:
            met = "met" if d["p99_ms"] <= d["target_p99_ms"] else "**missed**"
            lines.append(
                f"Village {d['village']} daily meanwhile: p50 {d['p50_ms']} ms, p99 {d['p99_ms']} ms, "
                f"max {d['max_ms']} ms ({d['n']} reads; target p99 <= {d['target_p99_ms']} ms: {met})."
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    province, day, hour_ago, events = run_facts(args.results)
    # the run's zero-report window (its days + 2) reaches back from today
    window = 32 + (date.today() - date.fromisoformat(day)).days
    stack = kept_stack(args.database, window)
    r: dict[str, Any] = {
        "meta": {
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": "python -m bench reads " + " ".join(sys.argv[2:] if argv is None else argv),
            "commit": commit(),
            "cpus": os.cpu_count(),
            "loadavg_start": loadavg(),
            "database": args.database,
            "results": str(args.results),
            "events": events,
            "note": args.note,
        }
    }
    try:
        print(f"starting the API on {args.database}", flush=True)
        stack.start("api")
        # the search index is built in the background from the first registry
        # request (5-6 s of CPU): built before the clock starts, as in a run,
        # where the API had been up for the whole load
        with http.client(stack.api_url, stack.token, timeout=60) as c:
            c.get(api.SEARCH_PATH, params={"q": "许岭"}).raise_for_status()
        r["api"] = api.run(stack, province, day, args.runs, hour_ago=hour_ago)
        if args.replay:
            province_, replay_day, village = replay_target(args.results)
            print(f"replaying {province_} on {replay_day}", flush=True)
            zone = ZoneInfo(stack.settings.timezone)
            r["replay"] = replay.run(stack, province_, replay_day, zone, village)
    finally:
        stack.children.stop_all()
    r["meta"]["loadavg_end"] = loadavg()
    for v in r["api"]["views"]:
        print(f"  {v['view']}: p50 {v['p50_ms']} ms, p99 {v['p99_ms']} ms ({v['n']} runs)")
    out = args.out or Path(f"bench/results/reads-{args.database}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(r, indent=2, ensure_ascii=False) + "\n", "utf-8")
    out.with_suffix(".md").write_text(markdown(r), "utf-8")
    print(f"wrote {out} and {out.with_suffix('.md')}")
