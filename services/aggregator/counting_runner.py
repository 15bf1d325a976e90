"""Stage 2's recount, as a runner tested without Faust or ClickHouse.

`CountingRunner.recount(subjects)` loads what the store holds for them,
computes for each `history(now) - history(emitted)` (contributions.py) and
writes each subject's deltas with its new snapshot in one insert
(counting_store.py). No Faust here: the agent in app.py only decodes the
subjects topic, calls this, and acknowledges.

Many subjects (a backlog on the subjects topic) are written in several
inserts, each of whole subjects and small enough for one insert block: the
subjects are grouped by a hash of their name; a group too big for one block
is split again by another hash.

An insert can fail part-way: on a replicated store the views run one after
another and the snapshots' view last, so a subject's deltas may be filed
while its snapshot is not. A replicated table drops a block it already holds
(migration 013), but only the same block: a recount from the store, which
meanwhile may hold new facts for the insert's subjects, would form other
blocks and file them on top of the deltas that went in (seen in the
cluster's rolling-restart test: subjects counted twice). So every insert is
preceded by its intents (migration 017): each subject's new snapshot and
number under the insert's id. A recount that finds a subject whose intent
is ahead of its snapshot first finishes that insert: it loads the insert's
subjects, and for each still at the snapshot before the intent computes the
rows from that snapshot to the intent's, which are the rows that were
computed the first time (contributions are pure, rows sorted), and writes
them as one insert: the same block per shard, dropped where it went in. Who
does it does not matter: the same runner retrying, a new counting child, or
the worker that took over the partition after a rebalance or a kill.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

from services.aggregator.contributions import Counted, appended, changed_submissions, difference, history
from services.aggregator.counting_store import BLOCK_ROWS, Intent, Intents, Ledger, Loaded
from services.common.counting import Model

log = logging.getLogger("ribao.aggregator")


class Store(Protocol):
    def load(self, subjects: list[str]) -> Loaded: ...

    def intent_members(self, insert_id: int) -> list[Intent]: ...

    def write_intents(self, intents: Intents) -> None: ...

    def write(self, ledger: Ledger) -> None: ...


@dataclass(frozen=True)
class RecountStats:
    subjects: int
    changed: int
    deltas: int


#: subjects per insert, at most (about 40 ledger rows each on the bench's data:
#: an insert well within one block)
SUBJECTS_PER_INSERT = 10_000
#: ledger rows per insert, at most: one block (an insert of one block is atomic)
ROWS_PER_INSERT = BLOCK_ROWS


def groups(subjects: list[str], k: int, salt: int = 0) -> list[list[str]]:
    """`subjects` in at most `k` groups by a stable hash of each name (and
    `salt`), each in the given order; empty groups left out."""
    out: list[list[str]] = [[] for _ in range(k)]
    prefix = f"{salt}:".encode()
    for s in subjects:
        out[zlib.crc32(prefix + s.encode()) % k].append(s)
    return [g for g in out if g]


def _same(a: list[Counted], b: list[Counted]) -> bool:
    return [(c.event_id, c.since, c.until) for c in a] == [(c.event_id, c.since, c.until) for c in b]


class CountingRunner:
    def __init__(self, store: Store, model: Model) -> None:
        self._store = store
        self._model = model
        self._ids = model.ids()

    def ledger_rows(
        self, loaded: Loaded, subjects: Iterable[str], now: Mapping[str, list[Counted]] | None = None
    ) -> tuple[Ledger, int]:
        """The ledger rows of a recount (pure), as columns: per changed subject
        its deltas, its submission rows and its new snapshot, from its
        snapshot in `loaded` to `now` (default: its events in `loaded`). Also
        the number of subjects that changed."""
        out = Ledger()
        changed = 0
        for subject in subjects:
            then = loaded.emitted(subject)
            after = now[subject] if now is not None else loaded.counted(subject)
            if _same(after, then):
                continue
            changed += 1
            deltas = appended(then, after, self._model, self._ids)
            if deltas is None:
                emitted = history(then, self._model, self._ids)
                deltas = difference(history(after, self._model, self._ids), emitted)
            number = loaded.subjects[subject].seq + 1
            out.add_deltas(deltas, subject, number)
            out.add_submissions(changed_submissions(then, after), subject, number)
            out.add_snapshot(subject, number, after)
        return out, changed

    def recount(self, subjects: Iterable[str]) -> RecountStats:
        """Recounts `subjects` and writes their rows, one insert at a time,
        each after its intents. An insert of an earlier recount that failed,
        found through one of these subjects' intents, is finished first."""
        wanted = sorted(set(subjects))
        loaded = self._store.load(wanted)
        unfinished = loaded.unfinished()
        if unfinished:
            for insert_id in unfinished:
                self.finish(insert_id)
            loaded = self._store.load(wanted)
        stats = RecountStats(len(wanted), 0, 0)
        for group in groups(wanted, -(-len(wanted) // SUBJECTS_PER_INSERT)):
            for ledger, changed in self._inserts(loaded, group, 1):
                self._store.write_intents(ledger.intents())
                self._store.write(ledger)
                s = stats
                stats = RecountStats(s.subjects, s.changed + changed, s.deltas + ledger.rows - changed)
        return stats

    def finish(self, insert_id: int) -> int:
        """Writes again the insert `insert_id` from its intents, for the
        subjects it had not yet moved on (their snapshot is the one before
        the intent's); returns how many."""
        members = self._store.intent_members(insert_id)
        loaded = self._store.load([m.subject for m in members])
        open_ = [m for m in members if loaded.subjects[m.subject].seq == m.seq - 1]
        now = {m.subject: loaded.as_counted(m.subject, m.snapshot) for m in open_}
        ledger, _ = self.ledger_rows(loaded, [m.subject for m in open_], now)
        self._store.write(ledger)
        log.warning(
            "finished insert %016x from its intents: %d of its %d subjects had not moved on",
            insert_id,
            len(open_),
            len(members),
        )
        return len(open_)

    def _inserts(self, loaded: Loaded, subjects: list[str], depth: int) -> Iterator[tuple[Ledger, int]]:
        """The subjects' rows and how many changed, in one insert when they
        fit one block, else split again by another hash."""
        ledger, changed = self.ledger_rows(loaded, subjects)
        if ledger.rows > ROWS_PER_INSERT and len(subjects) > 1:
            for part in groups(subjects, -(-ledger.rows // ROWS_PER_INSERT) + 1, depth):
                yield from self._inserts(loaded, part, depth + 1)
        elif ledger.rows:
            yield ledger, changed  # a single subject beyond one block: the store refuses it
