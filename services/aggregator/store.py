"""Writing the fold's rows to ClickHouse, idempotently.

Order of a batch's writes: archive first; then the version check (which sees
every version of the batch's event_ids, including those a concurrent worker
wrote: of two workers racing on one event_id, the one that writes second finds
both); then the superseded versions; then facts and retractions. A crash at any
point and a redelivery of the batch rewrites identical rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields
from typing import Any

from services.aggregator.dead_letters import DeadLetter
from services.aggregator.errors import AggregatorError
from services.aggregator.fold import (
    ArchiveRow,
    DuplicateRow,
    Effects,
    FactRow,
    RetractionRow,
    superseded,
)
from services.common.clickhouse import client
from services.common.config import CommonSettings


def _columns(cls: type) -> str:
    return ", ".join(f.name for f in fields(cls))


def _column_data(cls: type, items: list[Any]) -> list[list[Any]]:
    """The rows as columns (clickhouse-driver's `columnar=True` input): no
    per-row tuples for the driver to transpose."""
    return [[getattr(item, f.name) for item in items] for f in fields(cls)]


#: the version check's input: the batch's event ids, sent as a native-format
#: external table (not spliced into the SQL text, which the server would
#: parse: 5,000 UUIDs are 190 KB of SQL)
VERSIONS_SQL = "SELECT event_id, recorded_us, content_hash FROM events WHERE event_id IN batch_ids"


class RegistryNotLoaded(AggregatorError):
    """The `divisions` table is empty: no code can be judged unknown."""


@dataclass(frozen=True)
class WriteStats:
    events: int
    facts: int
    retractions: int
    duplicates: int


class Store:
    def __init__(self, settings: CommonSettings) -> None:
        self._ch = client(settings)

    def write(self, batch: list[Effects]) -> WriteStats:
        if not batch:
            return WriteStats(0, 0, 0, 0)
        now_us = time.time_ns() // 1000
        archive = [e.archive for e in batch]
        self._ch.execute(
            f"INSERT INTO events ({_columns(ArchiveRow)}, archived_us) VALUES",
            [*_column_data(ArchiveRow, archive), [now_us] * len(archive)],
            columnar=True,
        )
        ids = sorted({a.event_id for a in archive})
        versions = self._ch.execute(
            VERSIONS_SQL,
            external_tables=[
                {
                    "name": "batch_ids",
                    "structure": [("event_id", "String")],
                    "data": [{"event_id": i} for i in ids],
                }
            ],
        )
        dups = superseded(versions)
        if dups:
            self._ch.execute(
                f"INSERT INTO event_duplicates ({_columns(DuplicateRow)}, detected_us) VALUES",
                [*_column_data(DuplicateRow, dups), [now_us] * len(dups)],
                columnar=True,
            )
        facts = [f for e in batch for f in e.facts]
        if facts:
            self._ch.execute(
                f"INSERT INTO facts ({_columns(FactRow)}) VALUES", _column_data(FactRow, facts), columnar=True
            )
        retractions = [r for e in batch for r in e.retractions]
        if retractions:
            self._ch.execute(
                f"INSERT INTO retractions ({_columns(RetractionRow)}) VALUES",
                _column_data(RetractionRow, retractions),
                columnar=True,
            )
        return WriteStats(len(archive), len(facts), len(retractions), len(dups))

    def write_all(self, batch: list[Effects], dead: list[DeadLetter]) -> WriteStats:
        """Writes a batch's rows and its dead letters."""
        if dead:
            now_us = time.time_ns() // 1000
            self._ch.execute(
                "INSERT INTO dead_letters (kafka_partition, kafka_offset, record, error, detected_us) VALUES",
                [
                    (d.partition, d.offset, (d.value or b"").decode("utf-8", "replace"), d.error, now_us)
                    for d in dead
                ],
            )
        return self.write(batch)

    def unknown_codes(self, codes: set[str]) -> set[str]:
        """The codes that are not in the registry (the `divisions` table)."""
        if not codes:
            return set()
        rows = self._ch.execute(
            "SELECT DISTINCT code FROM divisions WHERE code IN %(codes)s", {"codes": tuple(sorted(codes))}
        )
        unknown = codes - {r[0] for r in rows}
        if unknown and not self._ch.execute("SELECT count() FROM divisions")[0][0]:
            raise RegistryNotLoaded("the divisions table is empty: load the registry (ribao setup)")
        return unknown

    def ping(self) -> None:
        self._ch.execute("SELECT 1")
