"""Stage 1's loop (services/aggregator/fold_runner.py) without Faust, Kafka or
ClickHouse: every line written once and in order, each record acknowledged
only after all its lines are stored, in topic order; bad lines and unknown
jurisdictions as dead letters; failed writes retried, nothing acknowledged
meanwhile; a writer that stops stops the loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.records import pack
from services.aggregator.dead_letters import DeadLetter
from services.aggregator.fold import Effects
from services.aggregator.fold_runner import FoldRunner
from services.aggregator.retrying import Retrying
from services.aggregator.store import WriteStats
from tests.unit.test_fold import record, screening

UNKNOWN = "341825999998"  # the form of a village code, but not in the registry


@dataclass(frozen=True)
class KafkaMessage:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True)
class Taken:
    message: KafkaMessage


@dataclass
class Fakes:
    #: the writes that went in: (event ids, dead letters' (offset, line)), in order
    written: list[tuple[list[str], list[tuple[int, int]]]] = field(default_factory=list)
    acked: list[int] = field(default_factory=list)
    published_dead: list[tuple[int, int]] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)
    fail_writes: int = 0
    failed: int = 0
    #: per record offset, the (offset, line) of its lines, to check each ack
    lines: dict[int, set[tuple[int, int]]] = field(default_factory=dict)
    stored: set[tuple[int, int]] = field(default_factory=set)

    # the registry
    def unknown(self, codes: set[str]) -> set[str]:
        return {c for c in codes if c == UNKNOWN}

    # the rows
    def write_all(self, batch: list[Effects], dead: list[DeadLetter]) -> WriteStats:
        if self.failed < self.fail_writes:
            self.failed += 1
            raise ConnectionError("ClickHouse went away")
        self.written.append(([e.archive.event_id for e in batch], [(d.offset, d.line) for d in dead]))
        self.stored |= {(e.archive.kafka_offset, e.archive.kafka_line) for e in batch}
        self.stored |= {(d.offset, d.line) for d in dead}
        return WriteStats(len(batch), 0, 0, 0, frozenset(e.archive.subject for e in batch))

    async def ack(self, event: Taken) -> None:
        offset = event.message.offset
        assert self.lines[offset] <= self.stored, f"record {offset} acknowledged before its lines were stored"
        self.acked.append(offset)


class DeadTopic:
    def __init__(self, fakes: Fakes) -> None:
        self._fakes = fakes

    def publish(self, dead: list[DeadLetter]) -> None:
        self._fakes.published_dead += [(d.offset, d.line) for d in dead]


class SubjectsTopic:
    def __init__(self, fakes: Fakes) -> None:
        self._fakes = fakes

    def publish(self, subjects: Iterable[str]) -> int:
        self._fakes.subjects += sorted(subjects)
        return 1


def _runner(fakes: Fakes, batch_max: int) -> FoldRunner:
    return FoldRunner(fakes, fakes, DeadTopic(fakes), SubjectsTopic(fakes), Retrying(0.001, 0.002), batch_max)


async def _takes(takes: list[list[Taken]]) -> AsyncIterator[list[Taken]]:
    for take in takes:
        await asyncio.sleep(0)
        yield take


def _records(
    sizes: list[int], bad: frozenset[tuple[int, int]] = frozenset()
) -> tuple[list[Taken], list[str]]:
    """Records of `sizes` lines each (offsets 0, 1, ...); the lines in `bad`
    (offset, line) are not JSON, those beyond them name UNKNOWN every third."""
    out, ids = [], []
    for offset, n in enumerate(sizes):
        values = []
        for line in range(n):
            if (offset, line) in bad:
                values.append(b"{not json")
                continue
            event = screening(f"p{offset}-{line}")
            if line % 3 == 2:
                event["jurisdiction"] = UNKNOWN
            else:
                ids.append(str(event["event_id"]))
            values.append(record(event).to_json())
        out.append(Taken(KafkaMessage(0, offset, b"340826", pack(values))))
    return out, ids


def _run(fakes: Fakes, records: list[Taken], take: int, batch_max: int) -> None:
    for r in records:
        lines = len((r.message.value or b"").split(b"\n"))
        fakes.lines[r.message.offset] = {(r.message.offset, i) for i in range(lines)}
    takes = [records[i : i + take] for i in range(0, len(records), take)]
    asyncio.run(_runner(fakes, batch_max).run(_takes(takes), fakes.ack))


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 7), min_size=1, max_size=12),
    take=st.integers(1, 5),
    batch_max=st.integers(1, 9),
)
def test_every_line_once_in_order_and_each_record_acked_after_its_lines(
    sizes: list[int], take: int, batch_max: int
) -> None:
    fakes = Fakes()
    records, ids = _records(sizes)
    _run(fakes, records, take, batch_max)
    assert [i for ids_, _ in fakes.written for i in ids_] == ids
    assert fakes.acked == list(range(len(sizes)))
    # every third line names a code the registry does not hold: a dead letter, also on the topic
    unknown = [(o, line) for o, n in enumerate(sizes) for line in range(n) if line % 3 == 2]
    assert [d for _, dead in fakes.written for d in dead] == unknown
    assert fakes.published_dead == unknown


def test_a_bad_line_is_a_dead_letter_and_its_records_other_lines_are_folded() -> None:
    fakes = Fakes()
    records, ids = _records([2, 3], bad=frozenset({(1, 0)}))
    _run(fakes, records, take=2, batch_max=10)
    assert [i for ids_, _ in fakes.written for i in ids_] == ids and len(ids) == 3
    assert sorted(d for _, dead in fakes.written for d in dead) == [(1, 0), (1, 2)]
    assert fakes.acked == [0, 1]


def test_failed_writes_are_retried_and_nothing_is_acked_before_they_succeed() -> None:
    fakes = Fakes(fail_writes=3)
    records, ids = _records([1, 2, 1, 2])
    _run(fakes, records, take=1, batch_max=2)
    assert fakes.failed == 3
    assert [i for ids_, _ in fakes.written for i in ids_] == ids
    assert fakes.acked == [0, 1, 2, 3]
    assert fakes.subjects and set(fakes.subjects) == {"p0-0", "p1-0", "p1-1", "p2-0", "p3-0", "p3-1"}


def test_a_writer_that_stops_stops_the_loop_and_acks_nothing_after() -> None:
    fakes = Fakes()
    records, _ = _records([1, 1, 1, 1])

    async def failing_ack(event: Any) -> None:
        if event.message.offset == 1:
            raise RuntimeError("the consumer is gone")
        await fakes.ack(event)

    for r in records:
        fakes.lines[r.message.offset] = {(r.message.offset, 0)}
    takes = [[r] for r in records]
    with pytest.raises(RuntimeError, match="the consumer is gone"):
        asyncio.run(_runner(fakes, 1).run(_takes(takes), failing_ack))
    assert fakes.acked == [0]
