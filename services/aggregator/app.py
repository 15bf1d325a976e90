"""The aggregator: a Faust app that folds the events topic into ClickHouse.

At-least-once with idempotent effects: a batch's offsets are acknowledged to
Faust (and so become committable) only after every row of the batch is in
ClickHouse; a redelivered batch rewrites the same rows (see fold.py, store.py).
The agent only decodes, calls the fold, and writes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterable
from typing import Any

import faust
import mode

from services.aggregator.config import AggregatorSettings
from services.aggregator.decode import decode_record
from services.aggregator.errors import PoisonRecord
from services.aggregator.fold import Effects, TopicPosition, fold
from services.aggregator.store import Store

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
        broker_commit_interval=1.0,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=min(3.0, settings.session_timeout_s / 3),
        # an agent that fails exits the worker (nothing acked, nothing committed)
        # instead of restarting in place, which can skip offsets (faust #527)
        agent_supervisor=mode.CrashingSupervisor,
    )
    topic = app.topic(
        settings.events_topic,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        internal=False,
    )
    store = Store(settings)

    async def write(batch: list[Effects], dead: list[tuple[int, int, bytes, str]]) -> None:
        """Writes until it succeeds: the offsets wait, nothing is skipped."""
        delay = settings.retry_initial_s
        loop = asyncio.get_running_loop()
        while True:
            try:
                await loop.run_in_executor(None, store.write_all, batch, dead)
                return
            except Exception as exc:  # any store failure: back off and retry, never ack
                log.warning("store write failed (%s: %s); retrying in %.1fs", type(exc).__name__, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, settings.retry_max_s)

    @app.agent(topic)
    async def aggregate(stream: AsyncIterable[Any]) -> None:
        # noack() as well as noack_take: otherwise auto-ack comes back when the
        # generator ends and unprocessed events get acknowledged.
        async for events in stream.noack().noack_take(  # type: ignore[attr-defined]
            settings.batch_max, within=settings.batch_within_s
        ):
            started = time.perf_counter()
            batch: list[Effects] = []
            dead: list[tuple[int, int, bytes, str]] = []
            for event in events:
                msg = event.message
                raw = msg.value
                try:
                    record = decode_record(raw)
                    batch.append(fold(record, raw, TopicPosition(msg.partition, msg.offset)))
                except PoisonRecord as exc:
                    log.error("dead letter at partition %d offset %d: %s", msg.partition, msg.offset, exc)
                    dead.append((msg.partition, msg.offset, raw or b"", str(exc)))
            await write(batch, dead)
            for event in events:
                await stream.ack(event)  # type: ignore[attr-defined]
            log.info(
                "folded %d events (%d dead) in %.0f ms",
                len(batch),
                len(dead),
                (time.perf_counter() - started) * 1000,
            )

    return app


def run_worker(settings: AggregatorSettings | None = None) -> None:
    """Runs the aggregator in the foreground until SIGTERM/SIGINT."""
    settings = settings or AggregatorSettings()
    app = create_app(settings)
    worker = faust.Worker(app, loglevel=settings.log_level.upper(), quiet=True)
    worker.execute_from_commandline()
