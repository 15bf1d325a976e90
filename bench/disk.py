"""Disk per event: what the topic and the store hold for each event of the
bench's realistic load, the per-event costs docs/deploy.md sizes the nation on.

Not a test (nothing is asserted). Run with Kafka and ClickHouse up, on the
machine where Kafka keeps its data (the topic's size is read from its log
files under `$RIBAO_HOME/kafka/data`):

    .venv/bin/python -m bench.disk [--events 100000] [--keep]

It makes a stack of its own (database, topic, consumer group: bench/stack.py),
writes the bench's 30-day history straight to the topic (as ingest writes
it), runs one aggregator worker until the archive holds every record and the
counting agent has committed every subject, then prints, per table, the rows
and bytes on disk of its active parts (system.parts) and, per topic, the
bytes of its log segments, each divided by the number of events. With
--keep the database and topic stay (e.g. for a backup drill: deploy/backup.sh).
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.loadgen import History, load_region
from bench.stack import new_stack
from bench.stages import aggregator
from bench.stages.preload import split_and_preload
from services.common.clickhouse import client
from services.common.config import REPO_DIR, CommonSettings

#: rows and bytes of every table of one database; 18.16 and current engines both
#: have `bytes_on_disk` (compressed data, marks, primary key, checksums)
PARTS_SQL = """
SELECT table, sum(rows), sum(bytes_on_disk), sum(data_uncompressed_bytes), count()
FROM system.parts
WHERE database = %(db)s AND active
GROUP BY table
ORDER BY table"""


def table_sizes(settings: CommonSettings) -> list[tuple[str, int, int, int, int]]:
    """(table, rows, bytes on disk, bytes uncompressed, active parts) of the database."""
    rows = client(settings).execute(PARTS_SQL, {"db": settings.clickhouse_database})
    return [(str(t), int(r), int(b), int(u), int(p)) for t, r, b, u, p in rows]


def topic_bytes(kafka_data: Path, topic: str) -> int:
    """Bytes of the topic's log segments (`*.log`) in the broker's data folder;
    indexes are left out (preallocated, then trimmed: not per event)."""
    dirs = [d for d in kafka_data.glob(f"{topic}-*") if d.name.rsplit("-", 1)[0] == topic]
    if not dirs:
        raise FileNotFoundError(f"no partition folder of {topic} under {kafka_data} (RIBAO_HOME?)")
    return sum(f.stat().st_size for d in dirs for f in d.glob("*.log"))


def measure(events: int, seed: int, keep: bool) -> dict[str, Any]:
    settings = CommonSettings()
    zone = ZoneInfo(settings.timezone)
    home = Path(os.environ.get("RIBAO_HOME", REPO_DIR / ".stack"))
    region = load_region(settings.registry_dir, "37", events, seed)
    history = History(region, events, 30, zone, datetime.now(UTC), seed)
    stack = new_stack(None, zero_window_days=32)
    print(f"stack: database {stack.settings.clickhouse_database}, topic {stack.settings.events_topic}")
    try:
        _, pre = split_and_preload(stack.settings, history, events, 0)
        total = aggregator.topic_size(stack.settings)
        started = time.perf_counter()
        stack.start("aggregator")
        aggregator.wait_folded(stack.settings, stack.group, max(600.0, total / 10), "aggregator")
        aggregator.wait_recounted(stack.settings, stack.group, 1800)
        drained = time.perf_counter() - started
        stack.stop("aggregator")
        data = home / "kafka" / "data"
        topics = {
            t: topic_bytes(data, t) for t in (stack.settings.events_topic, stack.settings.subjects_topic_name)
        }
        return {
            "events": total,
            "database": stack.settings.clickhouse_database,
            "topic": stack.settings.events_topic,
            "preload_s": pre["seconds"],
            "aggregator_s": round(drained, 1),
            "tables": table_sizes(stack.settings),
            "topics": topics,
        }
    finally:
        stack.teardown(keep)


def report(m: dict[str, Any]) -> str:
    n = m["events"]
    lines = [
        f"{n:,} events (database {m['database']}, topic {m['topic']}); "
        f"aggregator drained them in {m['aggregator_s']} s",
        "",
        "| table | rows | rows/event | bytes on disk | bytes/event | uncompressed bytes/event | parts |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    total = 0
    for table, rows, on_disk, raw, parts in m["tables"]:
        if table == "divisions":  # the registry: the same 9 MB whatever the load
            continue
        total += on_disk
        lines.append(
            f"| {table} | {rows:,} | {rows / n:.2f} | {on_disk:,} | {on_disk / n:.1f} "
            f"| {raw / n:.1f} | {parts} |"
        )
    lines.append(f"| **all but divisions** | | | {total:,} | {total / n:.1f} | | |")
    lines += ["", "| topic | bytes of log segments | bytes/event |", "| --- | ---: | ---: |"]
    for topic, size in m["topics"].items():
        lines.append(f"| {topic} | {size:,} | {size / n:.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.disk", description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the database and topic")
    args = parser.parse_args()
    print(report(measure(args.events, args.seed, args.keep)))


if __name__ == "__main__":
    main()
