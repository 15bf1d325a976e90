"""The aggregator: a Faust app that folds the events topic into ClickHouse.

At-least-once with idempotent effects: a batch's offsets are acknowledged to
Faust (and so become committable) only after every row of the batch is in
ClickHouse and every dead letter is on the dead-letter topic; a redelivered
batch rewrites the same rows (see fold.py, store.py, dead_letters.py). The
agent only decodes, checks jurisdictions against the registry, calls the fold,
and writes; a failed look-up or write is retried with back-off, never skipped.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import faust
import mode
import uvloop

from schemas.records import EventRecord
from services.aggregator import metrics
from services.aggregator.config import AggregatorSettings
from services.aggregator.counting_process import CountingProcess
from services.aggregator.dead_letters import DeadLetter, DeadLetterSink, Message, split_unknown
from services.aggregator.decode import decode_record
from services.aggregator.errors import AggregatorError, PoisonRecord
from services.aggregator.fold import Effects, TopicPosition, fold
from services.aggregator.jurisdictions import KnownCodes
from services.aggregator.records import chunks, lines_of
from services.aggregator.store import Store
from services.aggregator.subjects import SubjectSink
from services.aggregator.subjects import decode as decode_subjects
from services.common import logs

log = logging.getLogger("ribao.aggregator")
#: batches folded and waiting for the writer, at most
QUEUED = 2
T = TypeVar("T")


@dataclass
class Batch:
    """A batch ready to write: the Faust events of the records it completes
    (to acknowledge once it is written), the fold's rows, and its dead letters."""

    events: list[Any]
    effects: list[Effects]
    dead: list[DeadLetter]
    #: when its first events were taken from the stream (perf_counter)
    started: float

    def merged(self, later: Batch) -> Batch:
        return Batch(
            self.events + later.events, self.effects + later.effects, self.dead + later.dead, self.started
        )


def _broker_urls(bootstrap: str) -> list[str]:
    return [f"kafka://{host.strip()}" for host in bootstrap.split(",") if host.strip()]


def create_app(settings: AggregatorSettings | None = None) -> faust.App:
    settings = settings or AggregatorSettings()
    settings.aggregator_data_dir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        settings.aggregator_id,
        broker=_broker_urls(settings.kafka_bootstrap),
        datadir=str(settings.aggregator_data_dir),
        store="memory://",
        key_serializer="raw",
        value_serializer="raw",
        consumer_auto_offset_reset="earliest",
        topic_allow_declare=False,
        topic_disable_leader=True,
        web_enabled=False,
        # names the process in the consumer group (kafka-consumer-groups --describe, member ids)
        broker_client_id=f"{settings.aggregator_id}-{socket.gethostname()}-{os.getpid()}",
        broker_commit_interval=1.0,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=min(3.0, settings.session_timeout_s / 3),
        # an agent that fails exits the worker (nothing acked, nothing committed)
        # instead of restarting in place, which can skip offsets (faust #527)
        agent_supervisor=mode.CrashingSupervisor,
    )
    # both topics carry raw bytes: the agents decode them themselves
    topic, subjects_topic = (
        app.topic(
            name,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            internal=False,
        )
        for name in (settings.events_topic, settings.subjects_topic_name)
    )
    store = Store(settings)
    known_codes = KnownCodes(settings)
    sink = DeadLetterSink(settings)
    subject_sink = SubjectSink(settings)
    # stage 2's work runs in a child process: the two stages use two cores
    runner = CountingProcess(settings)
    metrics.install(app, settings.events_topic)

    async def retrying(what: str, call: Callable[[], T]) -> T:
        """Runs `call` until it succeeds: the offsets wait, nothing is skipped."""
        delay = settings.retry_initial_s
        loop = asyncio.get_running_loop()
        while True:
            try:
                return await loop.run_in_executor(None, call)
            except Exception as exc:  # any store or broker failure: back off and retry, never ack
                log.warning("%s failed (%s: %s); retrying in %.1fs", what, type(exc).__name__, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, settings.retry_max_s)

    def prepare(
        events: list[Any],
        decoded: list[tuple[Message, EventRecord]],
        poison: list[DeadLetter],
        unknown: set[str],
        started: float,
    ) -> Batch:
        known, unregistered = split_unknown(decoded, unknown)
        folding = time.perf_counter()
        batch = [
            fold(record, msg.value or b"", TopicPosition(msg.partition, msg.offset, msg.line))
            for msg, record in known
        ]
        metrics.observe_fold(time.perf_counter() - folding)
        return Batch(events, batch, poison + unregistered, started)

    async def commit(stream: Any, work: Batch) -> None:
        """Writes a batch, then acknowledges its events (their offsets become
        committable): nothing is acknowledged before it is stored."""
        for d in work.dead:
            log.error("dead letter at partition %d offset %d: %s", d.partition, d.offset, d.error)
        writing = time.perf_counter()
        if work.dead:
            await retrying("dead-letter topic", partial(sink.publish, work.dead))
        stats = await retrying("store write", partial(store.write_all, work.effects, work.dead))
        await retrying("subjects topic", partial(subject_sink.publish, stats.subjects))
        for event in work.events:
            await stream.ack(event)
        metrics.observe_batch(
            work.effects, work.dead, time.perf_counter() - writing, time.perf_counter() - work.started
        )

    async def write_loop(stream: Any, queue: asyncio.Queue[Batch]) -> None:
        """Writes the queued batches in order, those that queued up during a
        write as one (so a slow write is followed by a bigger one, not by many
        small ones)."""
        while True:
            work = await queue.get()
            while not queue.empty() and len(work.effects) + len(work.dead) < settings.batch_max:
                work = work.merged(queue.get_nowait())
            await commit(stream, work)

    @app.agent(topic)
    async def aggregate(stream: AsyncIterable[Any]) -> None:
        # Records are taken, cut into batches of at most batch_max events
        # (services/aggregator/records.py), decoded and folded here while the
        # writer task writes the previous batches (off the event loop).
        # Writes, and so acks, keep the batches' order; at most QUEUED batches
        # wait for the writer, then this loop (and so consumption) waits too.
        queue: asyncio.Queue[Batch] = asyncio.Queue(maxsize=QUEUED)
        writer = asyncio.ensure_future(write_loop(stream, queue))
        try:
            # noack() as well as noack_take: otherwise auto-ack comes back when the
            # generator ends and unprocessed events get acknowledged.
            async for records in stream.noack().noack_take(  # type: ignore[attr-defined]
                settings.batch_records, within=settings.batch_within_s
            ):
                started = time.perf_counter()
                taken = [
                    (r, lines_of(r.message.partition, r.message.offset, r.message.key, r.message.value))
                    for r in records
                ]
                for chunk in chunks(taken, settings.batch_max):
                    decoded: list[tuple[Message, EventRecord]] = []
                    poison: list[DeadLetter] = []
                    for msg in chunk.lines:
                        try:
                            decoded.append((msg, decode_record(msg.value)))
                        except PoisonRecord as exc:
                            poison.append(DeadLetter.of(msg, str(exc)))
                    codes = {record.event.jurisdiction for _, record in decoded}
                    unknown = await retrying("registry look-up", partial(known_codes.unknown, codes))
                    batch = prepare(chunk.completed, decoded, poison, unknown, started)
                    put = asyncio.ensure_future(queue.put(batch))
                    await asyncio.wait({put, writer}, return_when=asyncio.FIRST_COMPLETED)
                    if writer.done():
                        put.cancel()
                        writer.result()  # the writer's error, if it failed
                        raise AggregatorError("the writer task stopped")
        finally:
            writer.cancel()  # what it had not acknowledged comes again

    @app.agent(subjects_topic)
    async def count(stream: AsyncIterable[Any]) -> None:
        """Stage 2: recounts the subjects named on the subjects topic (one
        consumer per partition, so one writer per subject), then acknowledges
        them. A batch is recounted whole, again after a failure."""
        async for events in stream.noack().noack_take(  # type: ignore[attr-defined]
            settings.batch_max, within=settings.batch_within_s
        ):
            started = time.perf_counter()
            subjects: set[str] = set()
            for event in events:
                try:
                    subjects.update(decode_subjects(event.message.value))
                except PoisonRecord as exc:
                    log.error("subjects topic: skipping a record that is %s", exc)
            stats = await retrying("recount", partial(runner.recount, subjects))
            for event in events:
                await stream.ack(event)  # type: ignore[attr-defined]
            metrics.observe_recount(
                stats.subjects, stats.changed, stats.deltas, time.perf_counter() - started
            )

    return app


def run_worker(settings: AggregatorSettings | None = None) -> None:
    """Runs the aggregator in the foreground until SIGTERM/SIGINT."""
    settings = settings or AggregatorSettings()
    # uvloop: Faust schedules several tasks per message (mode's wait_first);
    # uvloop's C event loop runs them with far less CPU than asyncio's
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    logs.configure(settings.log_format, settings.log_level)
    app = create_app(settings)
    metrics.serve(settings.aggregator_metrics_host, settings.aggregator_metrics_port)
    worker = faust.Worker(app, loglevel=settings.log_level.upper(), quiet=True, override_logging=False)
    worker.execute_from_commandline()
