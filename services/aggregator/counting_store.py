"""The counting agent's reads and writes in ClickHouse (migration 011).

`load` reads, for a set of subjects, everything that decides what they
count: their fact rows (every version, from `subject_facts`), which of those
versions are superseded (`event_duplicates`), the retractions of their
events and which of those are superseded, and the snapshot of what their
deltas count so far (`counting_snapshots`). `write` files a recount's deltas
and new snapshots as ONE insert into `counting_ledger` (one block): both or
neither, so a recount cut by a crash is done again from the old snapshot.
Keys travel as native-format external tables, not as SQL text.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from services.aggregator.contributions import FAN, Counted, Deltas
from services.aggregator.errors import AggregatorError
from services.aggregator.fold import FactRow
from services.common.clickhouse import client, external_table
from services.common.config import CommonSettings
from services.common.replica_sync import ReplicaSync
from services.common.submissions import SubmissionDeltas

FACTS_SQL = """
SELECT DISTINCT subject, event_id, recorded_us, kind, jurisdiction, occurred_us, attr, origin, value
FROM subject_facts WHERE subject IN wanted"""
RETRACTIONS_SQL = """
SELECT DISTINCT target_event_id, recorded_us, event_id FROM retractions WHERE target_event_id IN ids"""
SUPERSEDED_SQL = "SELECT DISTINCT event_id, recorded_us FROM event_duplicates WHERE event_id IN ids"
SNAPSHOTS_SQL = """
SELECT subject, max(seq), argMax(event_ids, seq), argMax(since, seq), argMax(until, seq)
FROM counting_snapshots WHERE subject IN wanted GROUP BY subject"""
INTENTS_SQL = """
SELECT subject, max(seq), argMax(insert_id, seq)
FROM counting_intents WHERE subject IN wanted GROUP BY subject"""
MEMBERS_SQL = """
SELECT DISTINCT subject, seq, event_ids, since, until
FROM counting_intents WHERE insert_id = %(insert_id)s"""
#: the tables `load` reads
READS = ("subject_facts", "retractions", "event_duplicates", "counting_snapshots", "counting_intents")
LEDGER_COLUMNS = (
    "kind",
    "place",
    "counter",
    "bucket",
    "gap",
    "t",
    "delta",
    "subject",
    "seq",
    "event_ids",
    "since",
    "until",
    "rec",
    "fan",
)


#: clickhouse-driver's insert block (its `insert_block_size`): one block, one insert
BLOCK_ROWS = 1_048_576
#: an empty array column value, shared by every delta row
_NONE: tuple[()] = ()


@lru_cache(maxsize=1 << 16)
def _place(code: str) -> tuple[int, int]:
    """A cell's code as the ledger's (place, fan) (contributions.FAN)."""
    return (int(code[1:]), 1) if code.startswith(FAN) else (int(code), 0)


@dataclass
class Ledger:
    """One recount's ledger rows as the insert's columns (LEDGER_COLUMNS):
    deltas (kind 0), snapshots (kind 1) and submission rows (kind 2). A row
    with `fan` 1 stands for its place and each of its ancestors (migration
    020, contributions.FAN)."""

    columns: list[list[Any]] = field(default_factory=lambda: [[] for _ in LEDGER_COLUMNS])
    #: the rows of the snapshots (kind 1), in order: the insert's intents
    snapshot_rows: list[int] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.columns[0])

    def add_deltas(self, deltas: Deltas, name: str, number: int) -> None:
        """One subject's deltas. They carry its name and the sequence number of
        the snapshot they lead to: on a cluster the ledger is sharded by
        subject, so a subject's deltas and snapshot reach one shard in one
        block, and the views file a hash of both with each delta (migration 013)."""
        self._add_changes(0, deltas, name, number, fourth="gap")

    def add_submissions(self, deltas: SubmissionDeltas, name: str, number: int) -> None:
        """One subject's submission rows (services/common/submissions.py), with
        its name and snapshot number as its deltas carry them."""
        self._add_changes(2, deltas, name, number, fourth="rec")

    def _add_changes(
        self,
        row_kind: int,
        changes: Mapping[tuple[int, tuple[str, int, int, int]], int],
        name: str,
        number: int,
        fourth: str,
    ) -> None:
        """Rows of `row_kind` from (stamp, (code, counter, bucket, x)) -> delta,
        x filed in column `fourth` (gap or rec) and 0 in the other. In sorted
        order: a retried recount must make the very blocks it made before
        (migration 013), whatever order its reads returned the fact rows in
        and whatever the process's string hashing (a retry may run in another
        process, or on the other worker after a kill)."""
        if not changes:
            return
        kind, code, counter, bucket, gap, t, delta, subject, seq, ids, since, until, rec, fan = self.columns
        keyed, zeroed = (gap, rec) if fourth == "gap" else (rec, gap)
        # column by column (a quarter of the counting child's time went to
        # thirteen appends a row)
        keys, values = zip(*sorted(changes.items()), strict=True)
        stamps, cells = zip(*keys, strict=True)
        places, counters, buckets, xs = zip(*cells, strict=True)
        n = len(values)
        kind.extend([row_kind] * n)
        where = list(map(_place, places))
        code.extend(p for p, _ in where)
        fan.extend(f for _, f in where)
        counter.extend(counters)
        bucket.extend(buckets)
        keyed.extend(xs)
        zeroed.extend([0] * n)
        t.extend(stamps)
        delta.extend(values)
        subject.extend([name] * n)
        seq.extend([number] * n)
        ids.extend([_NONE] * n)
        since.extend([_NONE] * n)
        until.extend([_NONE] * n)

    def add_snapshot(self, name: str, number: int, counted: Sequence[Counted]) -> None:
        kind, code, counter, bucket, gap, t, delta, subject, seq, ids, since, until, rec, fan = self.columns
        for column in (code, counter, bucket, gap, t, delta, rec, fan):
            column.append(0)
        self.snapshot_rows.append(len(kind))
        kind.append(1)
        subject.append(name)
        seq.append(number)
        ids.append([c.event_id for c in counted])
        since.append([c.since for c in counted])
        until.append([c.until or 0 for c in counted])

    def intents(self) -> Intents:
        """The insert's intents: each subject's new snapshot and its number,
        under one id that names the insert (a hash of its subjects and
        numbers: the same recount gets the same id)."""
        *_, subject, seq, ids, since, until, _rec, _fan = self.columns
        rows = self.snapshot_rows
        digest = hashlib.blake2b(digest_size=8)
        for i in rows:
            digest.update(f"{subject[i]}\0{seq[i]}\0".encode())
        return Intents(
            int.from_bytes(digest.digest(), "big"),
            [subject[i] for i in rows],
            [seq[i] for i in rows],
            [ids[i] for i in rows],
            [since[i] for i in rows],
            [until[i] for i in rows],
        )


@dataclass(frozen=True)
class Intents:
    """One insert's intents, as the columns of `counting_intents`."""

    insert_id: int
    subjects: list[str]
    seqs: list[int]
    event_ids: list[list[str]]
    since: list[list[int]]
    until: list[list[int]]


@dataclass(frozen=True)
class Intent:
    """A subject's part of an insert: the snapshot (event_id, since, until)
    the insert leads it to, and that snapshot's number."""

    subject: str
    seq: int
    snapshot: list[tuple[str, int, int | None]]


def _snapshot(
    event_ids: Sequence[str], since: Sequence[int], until: Sequence[int]
) -> list[tuple[str, int, int | None]]:
    """A snapshot's columns as read back (until 0: never retracted)."""
    return [(e, s, u or None) for e, s, u in zip(event_ids, since, until, strict=True)]


@dataclass
class SubjectRows:
    """What the store holds for one subject."""

    #: (event_id, recorded_us) -> the fact rows of that version
    versions: dict[tuple[str, int], list[FactRow]] = field(default_factory=lambda: defaultdict(list))
    seq: int = 0
    snapshot: list[tuple[str, int, int | None]] = field(default_factory=list)
    #: the newest intent's (number, insert id), if any: ahead of `seq`, an
    #: insert that failed (migration 017)
    intent: tuple[int, int] | None = None


@dataclass
class Loaded:
    subjects: dict[str, SubjectRows]
    #: versions (event_id, recorded_us) that are not the first of their event_id
    superseded: set[tuple[str, int]]
    #: target event_id -> [(recorded_us, retraction event_id)]
    retractions: dict[str, list[tuple[int, str]]]

    def counted(self, subject: str) -> list[Counted]:
        """The subject's standing events now, each with its recorded interval."""
        rows = self.subjects[subject]
        standing: dict[str, int] = {}
        for event_id, recorded_us in rows.versions:
            if (event_id, recorded_us) in self.superseded:
                continue
            # two versions not (yet) known as superseded: the earlier stands
            if event_id not in standing or recorded_us < standing[event_id]:
                standing[event_id] = recorded_us
        out = []
        for event_id, since in sorted(standing.items()):
            untils = [
                at for at, rid in self.retractions.get(event_id, ()) if (rid, at) not in self.superseded
            ]
            facts = tuple(rows.versions[(event_id, since)])
            out.append(Counted(event_id, facts, since, min(untils) if untils else None))
        return out

    def emitted(self, subject: str) -> list[Counted]:
        """What the subject's deltas in the store count (its snapshot)."""
        return self.as_counted(subject, self.subjects[subject].snapshot)

    def as_counted(self, subject: str, snapshot: Sequence[tuple[str, int, int | None]]) -> list[Counted]:
        """A snapshot of the subject's (event_id, since, until) as its events."""
        rows = self.subjects[subject]
        return [
            Counted(event_id, tuple(rows.versions[(event_id, since)]), since, until)
            for event_id, since, until in snapshot
        ]

    def unfinished(self) -> list[int]:
        """The ids of the inserts whose intents are ahead of a subject's
        snapshot (written part-way or not at all), in order."""
        return sorted(
            {r.intent[1] for r in self.subjects.values() if r.intent is not None and r.intent[0] > r.seq}
        )


class CountingStore:
    def __init__(self, settings: CommonSettings) -> None:
        self._ch = client(settings)
        self._sync = ReplicaSync(settings)

    def load(self, subjects: Sequence[str]) -> Loaded:
        if not subjects:
            return Loaded({}, set(), {})
        # on a cluster: every replica a read may go to holds the facts stage 1
        # wrote and the snapshots this agent wrote (services/common/replica_sync.py)
        return self._sync.read(READS, lambda: self._load(subjects))

    def _load(self, subjects: Sequence[str]) -> Loaded:
        out: dict[str, SubjectRows] = {s: SubjectRows() for s in subjects}
        wanted = [external_table("wanted", "subject", "String", list(subjects))]
        ids: set[str] = set()
        for subject, eid, rec, kind, code, occurred, attr, origin, value in self._ch.execute(
            FACTS_SQL, external_tables=wanted
        ):
            out[subject].versions[(eid, rec)].append(
                FactRow(kind, code, "", occurred, rec, eid, attr, origin, value)
            )
            ids.add(eid)
        retractions: dict[str, list[tuple[int, str]]] = defaultdict(list)
        rids: set[str] = set()
        if ids:
            for target, rec, rid in self._ch.execute(
                RETRACTIONS_SQL, external_tables=[external_table("ids", "event_id", "String", sorted(ids))]
            ):
                retractions[target].append((rec, rid))
                rids.add(rid)
        superseded: set[tuple[str, int]] = set()
        if ids or rids:
            superseded = {
                (eid, rec)
                for eid, rec in self._ch.execute(
                    SUPERSEDED_SQL,
                    external_tables=[external_table("ids", "event_id", "String", sorted(ids | rids))],
                )
            }
        for subject, seq, event_ids, since, until in self._ch.execute(SNAPSHOTS_SQL, external_tables=wanted):
            rows = out[subject]
            rows.seq = seq
            rows.snapshot = _snapshot(event_ids, since, until)
        for subject, seq, insert_id in self._ch.execute(INTENTS_SQL, external_tables=wanted):
            out[subject].intent = (seq, insert_id)
        return Loaded(out, superseded, dict(retractions))

    def intent_members(self, insert_id: int) -> list[Intent]:
        """The intents filed under one insert id, by subject (rare: after a
        failed insert; reads the table's id column whole)."""
        found = self._ch.execute(MEMBERS_SQL, {"insert_id": insert_id})
        return sorted(
            (Intent(subject, seq, _snapshot(ids, since, until)) for subject, seq, ids, since, until in found),
            key=lambda i: i.subject,
        )

    def write_intents(self, intents: Intents) -> None:
        """One insert into `counting_intents`, before the ledger insert they name."""
        if not intents.subjects:
            return
        n = len(intents.subjects)
        self._ch.execute(
            "INSERT INTO counting_intents (subject, seq, insert_id, event_ids, since, until) VALUES",
            [
                intents.subjects,
                intents.seqs,
                [intents.insert_id] * n,
                intents.event_ids,
                intents.since,
                intents.until,
            ],
            columnar=True,
            settings={"max_insert_block_size": BLOCK_ROWS},
        )

    def write(self, ledger: Ledger) -> None:
        """One insert: the recount's deltas and snapshots together."""
        if not ledger.rows:
            return
        if ledger.rows > BLOCK_ROWS:  # the driver would send two blocks: two inserts
            raise AggregatorError(
                f"a recount of {ledger.rows} ledger rows does not fit one insert block ({BLOCK_ROWS})"
            )
        self._ch.execute(
            f"INSERT INTO counting_ledger ({', '.join(LEDGER_COLUMNS)}) VALUES",
            ledger.columns,
            columnar=True,
            settings={"max_insert_block_size": BLOCK_ROWS},
        )
