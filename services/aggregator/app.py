"""The aggregator: a Faust app that folds the events topic into ClickHouse.

At-least-once with idempotent effects: a batch's offsets are acknowledged to
Faust (and so become committable) only after every row of the batch is in
ClickHouse and every dead letter is on the dead-letter topic; a redelivered
batch rewrites the same rows (see fold.py, store.py, dead_letters.py). The
agents only hand the streams to their runners: stage 1's loop (decode, check
jurisdictions against the registry, fold, write, acknowledge) is
fold_runner.py, stage 2's recount counting_runner.py in a child process; a
failed look-up or write is retried with back-off, never skipped (retrying.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import AsyncIterable
from functools import partial
from typing import Any

import faust
import mode
import uvloop

from services.aggregator import metrics
from services.aggregator.config import AggregatorSettings
from services.aggregator.counting_process import CountingProcess
from services.aggregator.dead_letters import DeadLetterSink
from services.aggregator.errors import PoisonRecord
from services.aggregator.fold_runner import FoldRunner
from services.aggregator.jurisdictions import KnownCodes
from services.aggregator.retrying import Retrying
from services.aggregator.store import Store
from services.aggregator.subjects import SubjectSink
from services.aggregator.subjects import decode as decode_subjects
from services.common import logs
from services.common.collector import tune_for_batches

log = logging.getLogger("ribao.aggregator")


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

    retrying = Retrying(settings.retry_initial_s, settings.retry_max_s)
    folding = FoldRunner(store, known_codes, sink, subject_sink, retrying, settings.batch_max)

    @app.agent(topic)
    async def aggregate(stream: AsyncIterable[Any]) -> None:
        """Stage 1 (fold_runner.py). noack() as well as noack_take: otherwise
        auto-ack comes back when the generator ends and unprocessed events
        get acknowledged."""
        takes = stream.noack().noack_take(  # type: ignore[attr-defined]
            settings.batch_records, within=settings.batch_within_s
        )
        await folding.run(takes, stream.ack)  # type: ignore[attr-defined]

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
    tune_for_batches()
    metrics.serve(settings.aggregator_metrics_host, settings.aggregator_metrics_port)
    worker = faust.Worker(app, loglevel=settings.log_level.upper(), quiet=True, override_logging=False)
    worker.execute_from_commandline()
