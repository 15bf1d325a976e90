"""python -m bench restart --results RUN.json --database DB [--events 200000] [--kills 3]

Issue #13's "after a SIGKILL of the aggregator at 10 M, folding again within
30 s", measured on the database and topic a run kept (`bench run --keep`):
new events (today's kind of traffic, bench/loadgen.py) are written straight
to the kept topic, one aggregator worker is started on them, and while it
folds it is SIGKILLed (its counting child dies with it) and started again,
`--kills` times. Each recovery is timed from the kill and from the restart
until the worker's consumer group commits offsets past what it had
committed at the kill (Kafka's own record of what was folded and stored).
The figures' exactness after kills is the fault suite's (tests/integration/
test_faults.py); this measures only the time, at the kept run's size.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from kafka import KafkaAdminClient

from bench.loadgen import live_events, load_region
from bench.reads import run_facts
from bench.runner import commit, loadavg
from bench.stack import Stack, kept_stack
from bench.stages import aggregator, preload
from schemas.records import to_micros
from services.common.config import CommonSettings


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench restart", description=__doc__)
    p.add_argument("--results", type=Path, required=True, help="the kept run's results file (JSON)")
    p.add_argument("--database", required=True, help="the kept run's database (ribao_bench_<tag>)")
    p.add_argument("--events", type=int, default=200_000, help="new events written to the kept topic")
    p.add_argument("--kills", type=int, default=3, help="SIGKILLs while the worker folds")
    p.add_argument("--out", type=Path, help="results file (JSON; a table goes next to it as .md)")
    return p


class Committed:
    """The group's committed offsets on the events topic, summed (one admin
    connection, polled)."""

    def __init__(self, settings: CommonSettings, group: str) -> None:
        self._topic, self._group = settings.events_topic, group
        self._admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)

    def __call__(self) -> int:
        offsets = self._admin.list_group_offsets({self._group: None}).get(self._group, {})
        return sum(o.offset for tp, o in offsets.items() if tp.topic == self._topic and o.offset > 0)

    def close(self) -> None:
        self._admin.close()


def _wait(what: str, test: Any, timeout: float = 600, every: float = 0.25) -> float:
    started = time.monotonic()
    while not test():
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{what}: not after {timeout:.0f}s")
        time.sleep(every)
    return time.monotonic()


def one_kill(stack: Stack, committed: Committed, end: int) -> dict[str, Any] | None:
    """Waits until the worker has committed some of the new events, SIGKILLs
    it, starts it again and times the recovery; None when it finished first."""
    before = committed()
    _wait("a commit of the new events", lambda: committed() > before or committed() >= end)
    at_kill = committed()
    if at_kill >= end:
        return None
    stack.stop("aggregator", kill=True)
    killed = time.monotonic()
    stack.start("aggregator")
    restarted = time.monotonic()
    folding = _wait("a commit past the kill", lambda: committed() > at_kill)
    return {
        "committed_at_kill": at_kill,
        "left_at_kill": end - at_kill,
        "from_kill_s": round(folding - killed, 1),
        "from_restart_s": round(folding - restarted, 1),
    }


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    province, _day, _hour_ago, events = run_facts(args.results)
    stack = kept_stack(args.database, 32)
    s = stack.settings
    zone = ZoneInfo(s.timezone)
    region = load_region(s.registry_dir, province, 1_000_000, 97)
    now = datetime.now(UTC)
    items = [(e, to_micros(now)) for e in live_events(region, args.events, now, zone, seed=4242)]
    archived_before = aggregator.archived(s)
    print(
        f"{args.database}: {archived_before:,} events archived; writing {args.events:,} new ones", flush=True
    )
    preload.split_and_preload(s, items, len(items), 0)
    end = aggregator.topic_size(s)
    kills: list[dict[str, Any]] = []
    r: dict[str, Any] = {
        "meta": {
            "started": now.isoformat(timespec="seconds"),
            "commit": commit(),
            "loadavg_start": loadavg(),
            "database": args.database,
            "results": str(args.results),
            "events_in_run": events,
            "archived_before": archived_before,
            "new_events": args.events,
        },
        "kills": kills,
    }
    committed = Committed(s, stack.group)
    try:
        stack.start("aggregator")
        for k in range(args.kills):
            got = one_kill(stack, committed, end)
            if got is None:
                break
            kills.append(got)
            print(
                f"  kill {k + 1}: folding again {got['from_kill_s']} s after the kill "
                f"({got['from_restart_s']} s after the restart)",
                flush=True,
            )
        _wait("every new event committed", lambda: committed() >= end, timeout=3600, every=1)
        aggregator.wait_recounted(s, stack.group, 3600)
    finally:
        stack.children.stop_all()
        committed.close()
    r["meta"]["loadavg_end"] = loadavg()
    out = args.out or Path(f"bench/results/restart-{args.database}.json")
    out.write_text(json.dumps(r, indent=2) + "\n", "utf-8")
    lines = [
        f"# ribao benchmark: aggregator SIGKILL and restart on a kept run's data ({events:,} events)",
        "",
        f"Started {r['meta']['started']}, commit {r['meta']['commit']}, load average "
        f"{r['meta']['loadavg_start']} → {r['meta']['loadavg_end']}. Database {args.database} "
        f"({archived_before:,} events archived) and its topic; {args.events:,} new events written to the "
        "topic, one aggregator worker started on them and SIGKILLed while it folded.",
        "",
        "| kill | events left at the kill | folding again after the kill | after the restart |",
        "| ---: | ---: | ---: | ---: |",
        *(
            f"| {i + 1} | {k['left_at_kill']:,} | {k['from_kill_s']} s | {k['from_restart_s']} s |"
            for i, k in enumerate(kills)
        ),
    ]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n", "utf-8")
    print(f"wrote {out} and {out.with_suffix('.md')}")
