"""`python -m bench.ingest_only`: stage 1 of the benchmark alone, for working
on ingest: a stack of its own (database, topic, port), ingest started from
this checkout, `--events` generated events posted through POST /v1/events
exactly as stage 1 does (bench/stages/ingest.py), then events/s and the CPU
µs per event of the ingest process and its children (uvicorn workers), from
/proc. Optionally samples ingest with py-spy meanwhile (`--profile PATH`,
needs py-spy on PATH or next to the interpreter). Not a test: prints figures.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson

from bench.loadgen import History, load_region
from bench.memory import tree_cpu_seconds, tree_pids
from bench.runner import loadavg
from bench.stack import new_stack
from bench.stages import ingest
from services.common.config import CommonSettings


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.ingest_only", description=__doc__)
    p.add_argument("--events", type=int, default=60_000)
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--senders", type=int, default=4)
    p.add_argument("--province", default="37")
    p.add_argument("--seed", type=int, default=8)
    p.add_argument("--profile", type=Path, help="py-spy raw output (one file per ingest process)")
    p.add_argument("--rounds", type=int, default=1, help="post a fresh set of events this many times")
    args = p.parse_args(argv)

    settings = CommonSettings()
    zone = ZoneInfo(settings.timezone)
    now = datetime.now(UTC)
    region = load_region(settings.registry_dir, args.province, args.events, args.seed)
    stack = new_stack(None, zero_window_days=32)
    try:
        stack.start("ingest")
        pid = stack.procs["ingest"].pid
        for rnd in range(args.rounds):
            history = History(region, args.events, 30, zone, now, args.seed + rnd)
            events = [orjson.dumps(e) for e, _ in history][-args.events :]
            requests = ingest.bodies(events, args.batch)
            spies = _profile(args.profile, pid, rnd) if args.profile else []
            before = tree_cpu_seconds(pid)
            r = ingest.run(stack.ingest_url, stack.token, requests, args.senders)
            used = tree_cpu_seconds(pid) - before
            for spy in spies:
                spy.wait()
            lat = r["request_latency"]
            print(
                f"round {rnd}: {r['events']:,} events in {r['seconds']} s: {r['events_per_s']:,} events/s, "
                f"{1e6 * used / r['events']:.1f} µs CPU/event ({len(tree_pids(pid))} ingest processes), "
                f"request p50 {lat['p50_ms']} / p99 {lat['p99_ms']} ms, load {loadavg()}",
                flush=True,
            )
    finally:
        stack.teardown(keep=False)


def _profile(out: Path, pid: int, rnd: int) -> list[subprocess.Popen[bytes]]:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    pids = tree_pids(pid)
    workers = [p for p in pids if p != pid] or [pid]
    return [
        subprocess.Popen(
            [spy, "record", "-r", "200", "-d", "8", "-f", "raw", "-o", f"{out}.{rnd}.{w}", "-p", str(w)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for w in workers
    ]


if __name__ == "__main__":
    main()
