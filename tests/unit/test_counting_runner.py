"""The counting agent's runner without Faust or ClickHouse: a store in memory
that answers `load` as the SQL does and files `write` as the ledger's views
do. A recount emits what the in-memory state emits; recounting again, or
after a write that failed (in this runner or another), emits nothing twice."""

from __future__ import annotations

import contextlib
from collections import defaultdict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import codes
from schemas.records import EventRecord
from services.aggregator.counting_runner import CountingRunner
from services.aggregator.counting_state import CountingState, version_of
from services.aggregator.counting_store import Intent, Intents, Ledger, Loaded, SubjectRows
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
        #: subject -> [(seq, insert id, snapshot)], as filed
        self.intents: dict[str, list[tuple[int, int, list[tuple[str, int, int | None]]]]] = defaultdict(list)
        self.fail_next_write = False
        self.fail_next_intents = False
        self.intents_kept = 0

    def load(self, subjects: list[str]) -> Loaded:
        out = {s: SubjectRows() for s in subjects}
        for e in self.effects:
            v = version_of(e)
            if v.subject in out:
                out[v.subject].versions[(v.event_id, v.recorded_us)] = list(v.facts)
        for s, rows in out.items():
            rows.seq, rows.snapshot = self.snapshots.get(s, (0, []))
            if self.intents[s]:
                seq, insert_id, _ = max(self.intents[s], key=lambda f: (f[0], f[1]))
                rows.intent = (seq, insert_id)
        dups = superseded(
            (e.archive.event_id, e.archive.recorded_us, e.archive.content_hash) for e in self.effects
        )
        retractions: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for e in self.effects:
            for r in e.retractions:
                retractions[r.target_event_id].append((r.recorded_us, r.event_id))
        return Loaded(out, {(d.event_id, d.recorded_us) for d in dups}, dict(retractions))

    def write_intents(self, intents: Intents) -> None:
        """Files the intents; `fail_next_intents` fails the next call after
        filing only its first `intents_kept` rows (a cluster's insert that
        one shard took and the other did not)."""
        rows = list(
            zip(intents.subjects, intents.seqs, intents.event_ids, intents.since, intents.until, strict=True)
        )
        failing, self.fail_next_intents = self.fail_next_intents, False
        for subject, seq, ids, since, until in rows[: self.intents_kept] if failing else rows:
            snapshot = [(a, b, c or None) for a, b, c in zip(ids, since, until, strict=True)]
            self.intents[subject].append((seq, intents.insert_id, snapshot))
        if failing:
            raise ConnectionError("the store went away before the insert")

    def intent_members(self, insert_id: int) -> list[Intent]:
        return sorted(
            (
                Intent(subject, seq, snapshot)
                for subject, filed in self.intents.items()
                for seq, iid, snapshot in filed
                if iid == insert_id
            ),
            key=lambda i: i.subject,
        )

    def write(self, ledger: Ledger) -> None:
        if self.fail_next_write:
            self.fail_next_write = False
            raise ConnectionError("the store went away")
        kind, place, counter, bucket, gap, t, delta, subject, seq, ids, since, until, rec, fan = (
            ledger.columns
        )
        for i in range(ledger.rows):
            # as the ledger's views file a row: for its place, or (fan) for
            # the place and each ancestor
            code = str(place[i]).zfill(12)
            for c in codes.ancestors(code) if fan[i] else [code]:
                if kind[i] == 0:
                    self.sums[(t[i], (c, counter[i], bucket[i], gap[i]))] += delta[i]
                elif kind[i] == 2:
                    self.submitted[(t[i], (c, counter[i], bucket[i], rec[i]))] += delta[i]
            if kind[i] == 1:
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
            # the insert, or its intents before it, fail; the retry may run in
            # another runner (a new counting child, the worker that took over)
            if data.draw(st.booleans()):
                store.fail_next_write = True
            else:  # some of its intents filed, the insert never sent
                store.fail_next_intents = True
                store.intents_kept = data.draw(st.integers(0, 3))
            with contextlib.suppress(ConnectionError):
                runner.recount(names)
            store.fail_next_write = store.fail_next_intents = False  # (nothing to write: never wrote)
            if data.draw(st.booleans()):
                runner = CountingRunner(store, MODEL)
            store.effects += order[i + n : i + n + data.draw(st.integers(0, 2))]  # stage 1 goes on
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
    kind, *_, subject, seq, _ids, _since, _until, _rec, _fan = first.columns
    snapshots = {(subject[i], seq[i]) for i in range(first.rows) if kind[i] == 1}
    assert all((subject[i], seq[i]) in snapshots for i in range(first.rows) if kind[i] != 1)


class SplittingStore(MemoryStore):
    """Records each insert's subjects and rows; fails the insert numbered `fail_at`."""

    def __init__(self) -> None:
        super().__init__()
        self.inserts: list[tuple[set[str], int]] = []
        self.fail_at: int | None = None

    def write(self, ledger: Ledger) -> None:
        if not ledger.rows:
            return
        if self.fail_at is not None and len(self.inserts) == self.fail_at:
            self.fail_at = None
            raise ConnectionError("the store went away mid-recount")
        subject = ledger.columns[7]
        self.inserts.append(({str(s) for s in subject}, ledger.rows))
        super().write(ledger)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_big_recount_is_written_in_inserts_of_whole_subjects_that_fit_a_block(
    data: st.DataObject,
) -> None:
    import services.aggregator.counting_runner as runner_module

    block = data.draw(st.integers(40, 400))
    per_insert = data.draw(st.integers(1, 4))
    records = data.draw(record_sets(VILLAGES))
    effects = [fold(r, r.to_json(), TopicPosition(0, i)) for i, r in enumerate(records)]
    store = SplittingStore()
    store.effects = effects
    names = {v.subject for v in map(version_of, effects) if v.subject}
    saved = runner_module.ROWS_PER_INSERT, runner_module.SUBJECTS_PER_INSERT
    runner_module.ROWS_PER_INSERT, runner_module.SUBJECTS_PER_INSERT = block, per_insert
    try:
        runner = CountingRunner(store, MODEL)
        # one insert fails part way; the retry of the same recount finishes it
        store.fail_at = data.draw(st.integers(0, 3))
        with contextlib.suppress(ConnectionError):
            runner.recount(names)
        store.fail_at = None
        runner.recount(names)
    finally:
        runner_module.ROWS_PER_INSERT, runner_module.SUBJECTS_PER_INSERT = saved
    owner: dict[str, int] = {}
    for n, (subjects, rows) in enumerate(store.inserts):
        assert rows <= block or len(subjects) == 1
        for s in subjects:  # a subject's rows in one insert only
            assert owner.setdefault(s, n) == n
    state = CountingState(MODEL)
    assert {k: v for k, v in store.sums.items() if v} == state.apply(version_of(e) for e in effects)
    assert {k: v for k, v in store.submitted.items() if v} == state.submitted


_LEDGER_SCRIPT = """
import sys, orjson
from services.aggregator.counting_runner import CountingRunner
from services.aggregator.fold import TopicPosition, fold
from tests.integration.eventgen import bulk_records
from tests.unit.test_counting_runner import MODEL, VILLAGES, MemoryStore
from services.aggregator.counting_state import version_of
store = MemoryStore()
records = bulk_records(7, VILLAGES, 400)
store.effects = [fold(r, r.to_json(), TopicPosition(0, i)) for i, r in enumerate(records)]
names = sorted({v.subject for v in map(version_of, store.effects) if v.subject})
ledger, _ = CountingRunner(store, MODEL).ledger_rows(store.load(names), names)
sys.stdout.buffer.write(orjson.dumps(ledger.columns))
"""


def test_a_recount_makes_the_same_rows_in_processes_with_other_string_hashes() -> None:
    """A retry may run in another process (a new counting child, the other
    worker after a kill), where Python hashes strings differently: the rows,
    and their order, must not change (migration 013's deduplication)."""
    import os
    import subprocess
    import sys

    outs = {
        subprocess.run(
            [sys.executable, "-c", _LEDGER_SCRIPT],
            capture_output=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
        ).stdout
        for seed in (1, 2, 3)
    }
    assert len(outs) == 1 and len(next(iter(outs))) > 1000


class ViewStore(MemoryStore):
    """Files an insert as a replicated store's views do: one view after the
    other (deltas, submission rows, snapshots last), each dropping a block it
    already holds (migration 013); `fail_at_view` fails the next insert at
    that view, after the views before it went in."""

    VIEWS = (0, 2, 1)

    def __init__(self) -> None:
        super().__init__()
        self.blocks: dict[int, set[str]] = defaultdict(set)
        self.fail_at_view: int | None = None

    def write(self, ledger: Ledger) -> None:
        for n, kind in enumerate(self.VIEWS):
            if self.fail_at_view == n:
                self.fail_at_view = None
                raise ConnectionError("ZooKeeper connection lost while pushing to a view")
            rows = [i for i in range(ledger.rows) if ledger.columns[0][i] == kind]
            part = Ledger([[column[i] for i in rows] for column in ledger.columns])
            block = repr(part.columns)  # the block's content, rows in order
            if rows and block not in self.blocks[kind]:
                self.blocks[kind].add(block)
                super().write(part)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_an_insert_cut_between_views_is_finished_as_it_was_while_new_facts_arrive(
    data: st.DataObject,
) -> None:
    """The cluster's rolling-restart failure: a recount's deltas went in, its
    snapshots did not; before the retry stage 1 filed new facts for its
    subjects, and the retry may run in another runner (the partition moved
    to the other worker). The retry must first write the same blocks
    (dropped where they went in), not a recount of the new facts on top of
    them."""
    records = data.draw(record_sets(VILLAGES))
    effects = [fold(r, r.to_json(), TopicPosition(0, i)) for i, r in enumerate(records)]
    cut = data.draw(st.integers(1, len(effects)))
    store = ViewStore()
    store.effects = effects[:cut]
    runner = CountingRunner(store, MODEL)
    names = {v.subject for v in map(version_of, effects[:cut]) if v.subject}
    store.fail_at_view = data.draw(st.sampled_from([1, 2]))
    with contextlib.suppress(ConnectionError):
        runner.recount(names)
    store.fail_at_view = None
    store.effects += effects[cut:]  # stage 1 goes on meanwhile
    if data.draw(st.booleans(), label="retried by another runner"):
        runner = CountingRunner(store, MODEL)
    # the agent's retry of the same batch, or of some of its subjects
    some = st.lists(st.sampled_from(sorted(names)), min_size=1, unique=True) if names else st.just([])
    retried = data.draw(some)
    runner.recount(retried)
    runner.recount({v.subject for v in map(version_of, effects) if v.subject})  # the new facts' batch
    state = CountingState(MODEL)
    assert {k: v for k, v in store.sums.items() if v} == state.apply(version_of(e) for e in effects)
    assert {k: v for k, v in store.submitted.items() if v} == state.submitted
