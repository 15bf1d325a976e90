"""Stage 2 of the aggregator: recounting subjects.

`CountingRunner.recount(subjects)` loads what the store holds for them,
computes for each `history(now) - history(emitted)` (contributions.py) and
writes each subject's deltas with its new snapshot in one insert
(counting_store.py). Run again after a crash or a failed write, it starts
from whatever the store holds: when a subject's write went in, its snapshot
is the new one and the recount emits nothing for it. No Faust here: the
agent in app.py only decodes the subjects topic, calls this, and acknowledges.

Many subjects (a backlog on the subjects topic) are written in several
inserts, each of whole subjects and small enough for one insert block: the
subjects are grouped by a hash of their name; a group too big for one block
is split again by another hash.

A write that fails is retried with the very inserts that were computed, not
with a new recount. An insert can fail part-way: on a replicated store the
views run one after another and the snapshots' view last, so a subject's
deltas may be filed while its snapshot is not. A replicated table drops a
block it already holds (migration 013), but only the same block: between the
failure and the retry stage 1 may file new facts for one of the insert's
subjects, and a recount from them would form other blocks, filed on top of
the deltas that went in (seen in the cluster's rolling-restart test:
subjects counted twice). So the runner keeps the insert that failed, and
the recount's inserts still to compute from the same load, and writes them
first on its next call; a call for the same subjects ends there (their new
facts come again on the subjects topic). What this cannot cover is a retry
in another process (the counting child or the worker killed between the
failure and the retry): that one recounts from the store (docs/design.md,
"What a retry can still count twice").
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from services.aggregator.contributions import Counted, appended, changed_submissions, difference, history
from services.aggregator.counting_store import BLOCK_ROWS, Ledger, Loaded
from services.common.counting import Model


class Store(Protocol):
    def load(self, subjects: list[str]) -> Loaded: ...

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
        #: the recount under way: for which subjects, its inserts not yet
        #: written (a failed one first, as it was computed; the others computed
        #: when their turn comes, from the same load: their subjects'
        #: snapshots have not moved), and its figures so far
        self._for: tuple[str, ...] = ()
        self._rest: Iterator[tuple[Ledger, int]] | None = None
        self._stats = RecountStats(0, 0, 0)

    @property
    def unfinished(self) -> bool:
        """Whether a recount's write failed and is still to finish."""
        return self._rest is not None

    def ledger_rows(self, loaded: Loaded, subjects: Iterable[str]) -> tuple[Ledger, int]:
        """The ledger rows of a recount (pure), as columns: per changed subject
        its deltas, its submission rows and its new snapshot. Also the number of subjects that changed."""
        out = Ledger()
        changed = 0
        for subject in subjects:
            now, then = loaded.counted(subject), loaded.emitted(subject)
            if _same(now, then):
                continue
            changed += 1
            deltas = appended(then, now, self._model, self._ids)
            if deltas is None:
                emitted = history(then, self._model, self._ids)
                deltas = difference(history(now, self._model, self._ids), emitted)
            number = loaded.subjects[subject].seq + 1
            out.add_deltas(deltas, subject, number)
            out.add_submissions(changed_submissions(then, now), subject, number)
            out.add_snapshot(subject, number, now)
        return out, changed

    def recount(self, subjects: Iterable[str]) -> RecountStats:
        """Recounts `subjects` and writes their rows, one insert at a time. If
        an earlier call's write failed, that recount is finished first, its
        failed insert written as it was computed; a call for the same
        subjects then returns."""
        wanted = tuple(sorted(set(subjects)))
        if self._rest is not None:
            finished = self._finish()
            if wanted == self._for:
                return finished
        loaded = self._store.load(list(wanted))
        self._for, self._stats = wanted, RecountStats(len(wanted), 0, 0)
        self._rest = (
            insert
            for group in groups(list(wanted), -(-len(wanted) // SUBJECTS_PER_INSERT))
            for insert in self._inserts(loaded, group, 1)
        )
        return self._finish()

    def _inserts(self, loaded: Loaded, subjects: list[str], depth: int) -> Iterator[tuple[Ledger, int]]:
        """The subjects' rows and how many changed, in one insert when they
        fit one block, else split again by another hash."""
        ledger, changed = self.ledger_rows(loaded, subjects)
        if ledger.rows > ROWS_PER_INSERT and len(subjects) > 1:
            for part in groups(subjects, -(-ledger.rows // ROWS_PER_INSERT) + 1, depth):
                yield from self._inserts(loaded, part, depth + 1)
        elif ledger.rows:
            yield ledger, changed  # a single subject beyond one block: the store refuses it

    def _finish(self) -> RecountStats:
        """Writes the recount's inserts in order; a failure keeps the insert
        that failed, and those after it, for the next call."""
        assert self._rest is not None
        for insert in self._rest:
            ledger, changed = insert
            try:
                self._store.write(ledger)
            except BaseException:
                self._rest = itertools.chain([insert], self._rest)
                raise
            s = self._stats
            self._stats = RecountStats(s.subjects, s.changed + changed, s.deltas + ledger.rows - changed)
        self._rest = None
        return self._stats
