"""A small store filled through the tables the aggregator writes: events in
the archive, and the counting ledger, whose views fill counts, counts_exact
and the snapshots; each table in two inserts (several parts)."""

from __future__ import annotations

import json
from typing import Any

from services.common.clickhouse import client
from services.common.config import CommonSettings

LEDGER = (
    "INSERT INTO counting_ledger (kind, place, counter, bucket, gap, t, delta, subject, seq, "
    "event_ids, since, until) VALUES"
)


def ledger_rows(subjects: range, seq: int) -> list[tuple[Any, ...]]:
    """Deltas on a village, its town and the country, and each subject's snapshot."""
    rows: list[tuple[Any, ...]] = []
    for s in subjects:
        t = 1_700_000_000_000_000 + s * 1_000_000
        for code in (370102001002, 370102001, 0):
            rows.append((0, code, 1 + s % 4, 480_000 + s % 7, 0, t, 1, "", 0, [], [], []))
        rows.append((1, 0, 0, 0, 0, 0, 0, f"p:{s:06d}", seq, [f"e{s}"], [t], [0]))
    return rows


def events_rows(n: int, start: int) -> list[tuple[Any, ...]]:
    return [
        (f"e{i}", 1_700_000_000_000_000 + i, f"h{i}", "screening.registered", "370102001002",
         1_700_000_000_000_000, f"p{i}", "test", json.dumps({"n": i}), i % 6, i // 6, 0)
        for i in range(start, start + n)
    ]  # fmt: skip


def fill(settings: CommonSettings) -> None:
    ch = client(settings)
    # two inserts each: tables of several parts
    ch.execute(LEDGER, ledger_rows(range(0, 300), 1))
    ch.execute(LEDGER, ledger_rows(range(200, 500), 2))
    for start in (0, 400):
        ch.execute(
            "INSERT INTO events (event_id, recorded_us, content_hash, type, jurisdiction, occurred_us, "
            "subject, source, record, kafka_partition, kafka_offset, archived_us) VALUES",
            events_rows(400, start),
        )
