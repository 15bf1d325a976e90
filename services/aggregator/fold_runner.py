"""Stage 1's loop without Faust: takes of events-topic records in, rows
written, records acknowledged.

The agent (app.py) hands `FoldRunner.run` the stream's takes and its `ack`.
Each take's records are cut into batches of at most `batch_max` lines
(records.py); each batch is decoded, checked against the registry and
folded here, on the event loop, while a writer task writes the batches
before it (off the loop). The writer writes a batch's dead letters (topic
and table), its rows, then publishes the subjects it changed, and only then
acknowledges the records the batch completes: nothing is acknowledged
before it is stored, and acknowledgements keep the topic's order. At most
`queued` folded batches wait for the writer, then taking waits too; the
batches that queued up during a slow write are written as one. Every
look-up and write is retried (retrying.py) until it succeeds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

from schemas.records import EventRecord
from services.aggregator import metrics
from services.aggregator.dead_letters import DeadLetter, Message, split_unknown
from services.aggregator.decode import decode_record
from services.aggregator.errors import AggregatorError, PoisonRecord
from services.aggregator.fold import Effects, TopicPosition, fold
from services.aggregator.records import chunks, lines_of
from services.aggregator.retrying import Retrying
from services.aggregator.store import WriteStats

log = logging.getLogger("ribao.aggregator")
#: batches folded and waiting for the writer, at most
QUEUED = 2


class Registry(Protocol):
    def unknown(self, codes: set[str]) -> set[str]: ...


class RowWriter(Protocol):
    def write_all(self, batch: list[Effects], dead: list[DeadLetter]) -> WriteStats: ...


class DeadLetterTopic(Protocol):
    def publish(self, dead: list[DeadLetter]) -> None: ...


class SubjectsTopic(Protocol):
    def publish(self, subjects: Iterable[str]) -> int: ...


@dataclass
class Batch:
    """A batch ready to write: the stream's events of the records it
    completes (to acknowledge once it is written), the fold's rows, and its
    dead letters."""

    events: list[Any]
    effects: list[Effects]
    dead: list[DeadLetter]
    #: when its first events were taken from the stream (perf_counter)
    started: float

    def merged(self, later: Batch) -> Batch:
        return Batch(
            self.events + later.events, self.effects + later.effects, self.dead + later.dead, self.started
        )


def decode_lines(lines: list[Message]) -> tuple[list[tuple[Message, EventRecord]], list[DeadLetter]]:
    """The lines that are valid events, decoded, and dead letters for the others."""
    decoded: list[tuple[Message, EventRecord]] = []
    poison: list[DeadLetter] = []
    for msg in lines:
        try:
            decoded.append((msg, decode_record(msg.value)))
        except PoisonRecord as exc:
            poison.append(DeadLetter.of(msg, str(exc)))
    return decoded, poison


def fold_decoded(
    events: list[Any],
    decoded: list[tuple[Message, EventRecord]],
    poison: list[DeadLetter],
    unknown: set[str],
    started: float,
) -> Batch:
    """The batch of these decoded lines (pure): each folded, but those whose
    jurisdiction the registry does not hold (`unknown`), which are dead letters."""
    known, unregistered = split_unknown(decoded, unknown)
    folding = time.perf_counter()
    effects = [
        fold(record, msg.value or b"", TopicPosition(msg.partition, msg.offset, msg.line))
        for msg, record in known
    ]
    metrics.observe_fold(time.perf_counter() - folding)
    return Batch(events, effects, poison + unregistered, started)


class FoldRunner:
    def __init__(
        self,
        rows: RowWriter,
        registry: Registry,
        dead_letters: DeadLetterTopic,
        subjects: SubjectsTopic,
        retrying: Retrying,
        batch_max: int,
        queued: int = QUEUED,
    ) -> None:
        self._rows = rows
        self._registry = registry
        self._dead_letters = dead_letters
        self._subjects = subjects
        self._retrying = retrying
        self._batch_max = batch_max
        self._queued = queued

    async def run(self, takes: AsyncIterable[list[Any]], ack: Callable[[Any], Awaitable[Any]]) -> None:
        """Folds and writes every take until the stream ends, then waits until
        the writer has written and acknowledged them. Raises if the writer
        stopped (what it had not acknowledged comes again). A taken event has
        `.message` with its record's partition, offset, key and value."""
        queue: asyncio.Queue[Batch] = asyncio.Queue(maxsize=self._queued)
        writer = asyncio.ensure_future(self._write_loop(queue, ack))
        try:
            async for records in takes:
                started = time.perf_counter()
                taken = [
                    (r, lines_of(r.message.partition, r.message.offset, r.message.key, r.message.value))
                    for r in records
                ]
                for chunk in chunks(taken, self._batch_max):
                    decoded, poison = decode_lines(chunk.lines)
                    codes = {record.event.jurisdiction for _, record in decoded}
                    unknown = await self._retrying("registry look-up", partial(self._registry.unknown, codes))
                    batch = fold_decoded(chunk.completed, decoded, poison, unknown, started)
                    await self._beside(writer, queue.put(batch))
            await self._beside(writer, queue.join())
        finally:
            writer.cancel()  # what it had not acknowledged comes again

    @staticmethod
    async def _beside(writer: asyncio.Future[None], step: Awaitable[Any]) -> None:
        """Awaits `step` unless the writer stops first: then raises its error."""
        task = asyncio.ensure_future(step)
        await asyncio.wait({task, writer}, return_when=asyncio.FIRST_COMPLETED)
        if writer.done():
            task.cancel()
            writer.result()  # the writer's error, if it failed
            raise AggregatorError("the writer task stopped")

    async def _write_loop(self, queue: asyncio.Queue[Batch], ack: Callable[[Any], Awaitable[Any]]) -> None:
        """Writes the queued batches in order, those that queued up during a
        write as one (so a slow write is followed by a bigger one, not by many
        small ones)."""
        while True:
            work = await queue.get()
            taken = 1
            while not queue.empty() and len(work.effects) + len(work.dead) < self._batch_max:
                work = work.merged(queue.get_nowait())
                taken += 1
            await self._commit(work, ack)
            for _ in range(taken):
                queue.task_done()

    async def _commit(self, work: Batch, ack: Callable[[Any], Awaitable[Any]]) -> None:
        """Writes a batch, then acknowledges its events (their offsets become
        committable): nothing is acknowledged before it is stored."""
        for d in work.dead:
            log.error("dead letter at partition %d offset %d: %s", d.partition, d.offset, d.error)
        writing = time.perf_counter()
        if work.dead:
            await self._retrying("dead-letter topic", partial(self._dead_letters.publish, work.dead))
        stats = await self._retrying("store write", partial(self._rows.write_all, work.effects, work.dead))
        await self._retrying("subjects topic", partial(self._subjects.publish, stats.subjects))
        for event in work.events:
            await ack(event)
        metrics.observe_batch(
            work.effects, work.dead, time.perf_counter() - writing, time.perf_counter() - work.started
        )
