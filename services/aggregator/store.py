"""Writing the fold's rows to ClickHouse, idempotently.

Order of a batch's writes: archive first, then the version index; then the
version check (which sees every version of the batch's event_ids, including
those a concurrent worker wrote: of two workers racing on one event_id, the
one that writes second finds both, since each writes its index rows before
it checks); then the superseded versions; then facts and retractions. A crash at any
point and a redelivery of the batch rewrites identical rows.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, fields
from typing import Any

import orjson

from services.aggregator.contributions import counting_subject, subject_key
from services.aggregator.dead_letters import DeadLetter
from services.aggregator.fold import (
    ArchiveRow,
    DuplicateRow,
    Effects,
    FactRow,
    RetractionRow,
    VersionRow,
    superseded,
)
from services.common.clickhouse import client, external_table
from services.common.config import CommonSettings
from services.common.replica_sync import ReplicaSync


def _columns(cls: type) -> str:
    return ", ".join(f.name for f in fields(cls))


def _column_data(cls: type, items: list[Any]) -> list[list[Any]]:
    """The rows as columns (clickhouse-driver's `columnar=True` input): no
    per-row tuples for the driver to transpose."""
    return [[getattr(item, f.name) for item in items] for f in fields(cls)]


#: the columns of `subject_facts` (migration 011): the counted subject, then
#: the fact row's own
SUBJECT_FACT_COLUMNS = "subject, event_id, recorded_us, kind, jurisdiction, occurred_us, attr, origin, value"
_FACT_NAMES = SUBJECT_FACT_COLUMNS.split(", ")[1:]
#: the version check, first step: of the batch's id keys (sent as a
#: native-format external table, not spliced into the SQL text), those with
#: more than one version in the narrow index (migration 009). Nearly always
#: none; a key collision of two ids only costs the second step a look.
CANDIDATES_SQL = """
SELECT id_key FROM event_versions
WHERE id_key IN batch_keys
GROUP BY id_key
HAVING uniqExact(recorded_us, content_key) > 1"""
#: second step: every archived version of the ids whose key was a candidate,
#: with what the counting needs to name the subjects of each. Without the
#: record: `events` is ordered by event_id in granules of 8,192 rows, and
#: reading the record column of every granule an id falls in was most of
#: this read (1 M bench drain: 42 M rows read in 191 batches, 10 s of
#: ClickHouse's CPU, since the bench resends and corrects events in every
#: batch)
VERSIONS_SQL = """
SELECT event_id, recorded_us, content_hash, type, subject
FROM events WHERE event_id IN batch_ids"""
#: third step, for the versions found that are retractions: their records,
#: which name their targets
RETRACTION_RECORDS_SQL = """
SELECT DISTINCT record FROM events WHERE event_id IN retracted AND type = 'event.retracted'"""
#: the subjects of retraction targets (every archived version of each)
TARGETS_SQL = "SELECT DISTINCT type, subject, event_id FROM events WHERE event_id IN targets"
#: the tables those reads use
READS = ("event_versions", "events")


@dataclass(frozen=True)
class WriteStats:
    events: int
    facts: int
    retractions: int
    duplicates: int
    #: the subjects whose counted events the batch may have changed
    #: (services/aggregator/subjects.py)
    subjects: frozenset[str] = frozenset()


class Store:
    def __init__(self, settings: CommonSettings) -> None:
        self._ch = client(settings)
        self._sync = ReplicaSync(settings)

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
        self._ch.execute(
            f"INSERT INTO event_versions ({_columns(VersionRow)}) VALUES",
            _column_data(VersionRow, keys := [e.version for e in batch]),
            columnar=True,
        )
        # on a cluster: what other workers (or this one, before a replica died)
        # wrote is on every replica a read may go to (services/common/replica_sync.py)
        ids = {(k.id_key, a.event_id) for k, a in zip(keys, archive, strict=True)}
        found = self._sync.read(READS, lambda: self._versions(ids))
        dups = superseded((eid, rec, chash) for eid, rec, chash, *_ in found)
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
        counted = [(key, f) for f in facts if (key := counting_subject(f)) is not None]
        if counted:
            self._ch.execute(
                f"INSERT INTO subject_facts ({SUBJECT_FACT_COLUMNS}) VALUES",
                [
                    [key for key, _ in counted],
                    *([getattr(f, name) for _, f in counted] for name in _FACT_NAMES),
                ],
                columnar=True,
            )
        retractions = [r for e in batch for r in e.retractions]
        if retractions:
            self._ch.execute(
                f"INSERT INTO retractions ({_columns(RetractionRow)}) VALUES",
                _column_data(RetractionRow, retractions),
                columnar=True,
            )
        # after every write (the archive, the duplicates, the retractions): of two
        # workers racing on a retraction and its target, or on two versions of an
        # event, the one that looks second finds the other's rows
        subjects = {key for key, _ in counted}
        targets = {r.target_event_id for r in retractions}
        for eid, _rec, _chash, kind, subject in found:
            if (key := subject_key(kind, subject, eid)) is not None:
                subjects.add(key)
        found_retractions = {eid for eid, _, _, kind, _ in found if kind == "event.retracted"}
        if targets or found_retractions:
            subjects |= self._sync.read(
                ("events",), lambda: self._subjects_of(targets | self._targets_of(found_retractions))
            )
        return WriteStats(len(archive), len(facts), len(retractions), len(dups), frozenset(subjects))

    def _targets_of(self, retractions: set[str]) -> set[str]:
        """The targets named by every archived version of these retractions."""
        if not retractions:
            return set()
        rows = self._ch.execute(
            RETRACTION_RECORDS_SQL,
            external_tables=[external_table("retracted", "event_id", "String", sorted(retractions))],
        )
        return {str(orjson.loads(record)["event"]["data"]["target_event_id"]) for (record,) in rows}

    def _subjects_of(self, event_ids: set[str]) -> set[str]:
        """The counted subjects of every archived version of these events."""
        if not event_ids:
            return set()
        rows = self._ch.execute(
            TARGETS_SQL,
            external_tables=[external_table("targets", "event_id", "String", sorted(event_ids))],
        )
        return {key for kind, subject, eid in rows if (key := subject_key(kind, subject, eid)) is not None}

    def _versions(self, ids: set[tuple[int, str]]) -> list[tuple[str, int, str, str, str]]:
        """Every archived version of those of `ids` ((id_key, event_id) pairs,
        the keys as the batch's version rows have them) that have more than one."""
        by_key: dict[int, list[str]] = defaultdict(list)
        for key, i in ids:
            by_key[key].append(i)
        candidates = self._ch.execute(
            CANDIDATES_SQL,
            external_tables=[external_table("batch_keys", "id_key", "UInt64", by_key)],
        )
        if not candidates:
            return []
        suspects = sorted({i for (k,) in candidates for i in by_key[k]})
        return list(
            self._ch.execute(
                VERSIONS_SQL,
                external_tables=[external_table("batch_ids", "event_id", "String", suspects)],
            )
        )

    def write_all(self, batch: list[Effects], dead: list[DeadLetter]) -> WriteStats:
        """Writes a batch's rows and its dead letters."""
        if dead:
            now_us = time.time_ns() // 1000
            self._ch.execute(
                "INSERT INTO dead_letters"
                " (kafka_partition, kafka_offset, kafka_line, record, error, detected_us) VALUES",
                [
                    (
                        d.partition,
                        d.offset,
                        d.line,
                        (d.value or b"").decode("utf-8", "replace"),
                        d.error,
                        now_us,
                    )
                    for d in dead
                ],
            )
        return self.write(batch)

    def ping(self) -> None:
        self._ch.execute("SELECT 1")
