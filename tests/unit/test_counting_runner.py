"""The counting agent's runner without Faust or ClickHouse: a store in memory
that answers `load` as the SQL does and files `write` as the ledger's views
do. A recount emits what the in-memory state emits; recounting again, or
after a write that failed, emits nothing twice."""

from __future__ import annotations

import contextlib
from collections import defaultdict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.records import EventRecord
from services.aggregator.counting_runner import CountingRunner
from services.aggregator.counting_state import CountingState, version_of
from services.aggregator.counting_store import Ledger, Loaded, SubjectRows
from services.aggregator.fold import Effects, TopicPosition, fold, superseded
from services.common.counting import Model
from tests.integration.eventgen import record_sets

MODEL = Model(("42", "4201"))
VILLAGES = ["340826103001", "340826103002", "341321100001"]


class MemoryStore:
    def __init__(self) -> None:
        self.effects: list[Effects] = []
        self.sums: dict[tuple[int, tuple[str, int, int, int]], int] = defaultdict(int)
        self.submitted: dict[tuple[int, tuple[str, int, int, int]], int] = defaultdict(int)
        self.snapshots: dict[str, tuple[int, list[tuple[str, int, int | None]]]] = {}
        self.fail_next_write = False

    def load(self, subjects: list[str]) -> Loaded:
        out = {s: SubjectRows() for s in subjects}
        for e in self.effects:
            v = version_of(e)
            if v.subject in out:
                out[v.subject].versions[(v.event_id, v.recorded_us)] = list(v.facts)
        for s, rows in out.items():
            rows.seq, rows.snapshot = self.snapshots.get(s, (0, []))
        dups = superseded(
            (e.archive.event_id, e.archive.recorded_us, e.archive.content_hash) for e in self.effects
        )
        retractions: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for e in self.effects:
            for r in e.retractions:
                retractions[r.target_event_id].append((r.recorded_us, r.event_id))
        return Loaded(out, {(d.event_id, d.recorded_us) for d in dups}, dict(retractions))

    def write(self, ledger: Ledger) -> None:
        if self.fail_next_write:
            self.fail_next_write = False
            raise ConnectionError("the store went away")
        kind, code, counter, bucket, gap, t, delta, subject, seq, ids, since, until, rec = ledger.columns
        for i in range(ledger.rows):
            if kind[i] == 0:
                self.sums[(t[i], (str(code[i]).zfill(12), counter[i], bucket[i], gap[i]))] += delta[i]
            elif kind[i] == 2:
                self.submitted[(t[i], (str(code[i]).zfill(12), counter[i], bucket[i], rec[i]))] += delta[i]
            else:
                self.snapshots[subject[i]] = (
                    seq[i],
                    [(a, b, c or None) for a, b, c in zip(ids[i], since[i], until[i], strict=True)],
                )


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_recounts_in_any_batches_with_failed_writes_sum_to_the_state(data: st.DataObject) -> None:
    # (the generator never ties two versions of an event in recorded time, as
    # ingest never does: the store tells versions apart by (event_id, recorded_us))
    records = data.draw(record_sets(VILLAGES))
    effects = [fold(r, r.to_json(), TopicPosition(0, i)) for i, r in enumerate(records)]
    store = MemoryStore()
    runner = CountingRunner(store, MODEL)
    order = data.draw(st.permutations(effects))
    i = 0
    while i < len(order):
        n = data.draw(st.integers(1, 5))
        batch = order[i : i + n]
        store.effects += batch
        names = {v.subject for v in map(version_of, store.effects) if v.subject}  # every subject: a superset
        if data.draw(st.booleans()):
            store.fail_next_write = True
            with contextlib.suppress(ConnectionError):
                runner.recount(names)
        runner.recount(names)
        i += n
    # once more: nothing changes
    assert runner.recount({v.subject for v in map(version_of, effects) if v.subject}).changed == 0
    state = CountingState(MODEL)
    want = state.apply(version_of(e) for e in effects)
    assert {k: v for k, v in store.sums.items() if v} == want
    assert {k: v for k, v in store.submitted.items() if v} == state.submitted


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=record_sets(VILLAGES))
def test_a_retried_recount_makes_the_same_ledger_and_each_delta_names_its_snapshot(
    records: list[EventRecord],
) -> None:
    """What lets a replicated store drop a retried recount's blocks where they
    went in before (migration 013): the same store state gives the same rows,
    and every delta row carries its subject and the sequence number of the
    snapshot it leads to, so two different recounts never make equal rows."""
    store = MemoryStore()
    store.effects = [fold(r, r.to_json(), TopicPosition(0, i)) for i, r in enumerate(records)]
    runner = CountingRunner(store, MODEL)
    names = sorted({v.subject for v in map(version_of, store.effects) if v.subject})
    first, _ = runner.ledger_rows(store.load(names), names)
    again, _ = runner.ledger_rows(store.load(names), names)
    assert first.columns == again.columns
    kind, *_, subject, seq, _ids, _since, _until, _rec = first.columns
    snapshots = {(subject[i], seq[i]) for i in range(first.rows) if kind[i] == 1}
    assert all((subject[i], seq[i]) in snapshots for i in range(first.rows) if kind[i] != 1)
