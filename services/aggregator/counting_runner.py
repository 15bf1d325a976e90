"""Stage 2 of the aggregator: recounting subjects.

`CountingRunner.recount(subjects)` loads what the store holds for them,
computes for each `history(now) - history(emitted)` (contributions.py) and
writes the deltas with the subjects' new snapshots as one insert
(counting_store.py). Run again after a crash or a failed write, it starts
from whatever the store holds: when the first write went in, the snapshots
are the new ones and the recount emits nothing. No Faust here: the agent in
app.py only decodes the subjects topic, calls this, and acknowledges.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from services.aggregator.contributions import Counted, difference, extended, history, submissions
from services.aggregator.counting_store import Ledger, Loaded
from services.common.counting import Model


class Store(Protocol):
    def load(self, subjects: list[str]) -> Loaded: ...

    def write(self, ledger: Ledger) -> None: ...


@dataclass(frozen=True)
class RecountStats:
    subjects: int
    changed: int
    deltas: int


def _same(a: list[Counted], b: list[Counted]) -> bool:
    return [(c.event_id, c.since, c.until) for c in a] == [(c.event_id, c.since, c.until) for c in b]


class CountingRunner:
    def __init__(self, store: Store, model: Model) -> None:
        self._store = store
        self._model = model
        self._ids = model.ids()

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
            emitted = history(then, self._model, self._ids)
            current = extended(then, emitted, now, self._model, self._ids)
            if current is None:
                current = history(now, self._model, self._ids)
            number = loaded.subjects[subject].seq + 1
            out.add_deltas(difference(current, emitted), subject, number)
            out.add_submissions(difference(submissions(now), submissions(then)), subject, number)
            out.add_snapshot(subject, number, now)
        return out, changed

    def recount(self, subjects: Iterable[str]) -> RecountStats:
        wanted = sorted(set(subjects))
        loaded = self._store.load(wanted)
        ledger, changed = self.ledger_rows(loaded, wanted)
        self._store.write(ledger)
        return RecountStats(len(wanted), changed, ledger.rows - changed)
