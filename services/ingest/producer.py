"""Writing accepted events to Kafka (acks=all, idempotent producer).

The producer is librdkafka's, through confluent-kafka: its per-record work is
C (kafka-python's `send` cost ~33 µs of Python per record, a quarter of
ingest's CPU; librdkafka ~4 µs, measured on this machine). Records are keyed
by county and placed with `murmur2_random`, which for a key is the Java
client's murmur2 partitioner, the same partition kafka-python's default
partitioner (and the bench's preload) picks.

Delivery reports are served by one poller thread per producer; a request
waits on an asyncio future that the last report of its records resolves, so
neither producing nor waiting holds a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer
from kafka.partitioner.default import DefaultPartitioner

from services.ingest.config import IngestSettings
from services.ingest.errors import BrokerUnavailable

log = logging.getLogger(__name__)

#: how long the poller thread blocks in each `poll` (it wakes up at once on a report)
_POLL_S = 0.2
#: how long `produce` waits for room in librdkafka's queue before trying again
_QUEUE_FULL_WAIT_S = 0.01


@dataclass(frozen=True)
class Position:
    partition: int
    offset: int


class CachedKeyPartitioner(DefaultPartitioner):  # type: ignore[misc]
    """kafka-python's default partitioner (murmur2 of the key, as the Java client),
    computed once per (topic, key, partition count): the keys are counties, a
    few thousand, and the pure-Python hash is a measurable part of each send.
    Used by the bench's preload, which writes with kafka-python."""

    def __init__(self) -> None:
        super().__init__()
        self._cache: dict[tuple[str, bytes, int], int] = {}

    def partition(
        self,
        topic: str,
        key: Any,
        serialized_key: bytes | None,
        value: Any,
        serialized_value: Any,
        cluster: Any,
    ) -> int:
        if serialized_key is None:
            return int(super().partition(topic, key, serialized_key, value, serialized_value, cluster))
        known = cluster.partitions_for_topic(topic)
        cache_key = (topic, serialized_key, len(known) if known else 0)
        found = self._cache.get(cache_key)
        if found is None:
            found = int(super().partition(topic, key, serialized_key, value, serialized_value, cluster))
            self._cache[cache_key] = found
        return found


def producer_config(settings: IngestSettings) -> dict[str, Any]:
    """librdkafka settings: durable writes (acks=all, idempotent), a delivery
    timeout of `produce_timeout_s`, Java-compatible key partitioning."""
    ms = int(settings.produce_timeout_s * 1000)
    return {
        "bootstrap.servers": settings.kafka_bootstrap,
        "client.id": "ribao-ingest",
        "acks": "all",
        "enable.idempotence": True,
        "partitioner": "murmur2_random",
        "allow.auto.create.topics": False,
        # a request's records leave together; a few ms lets concurrent requests share batches
        "linger.ms": 2,
        "message.timeout.ms": ms,
        "request.timeout.ms": min(ms, 30_000),
        # room for many concurrent requests of RIBAO_MAX_EVENTS_PER_REQUEST events
        "queue.buffering.max.messages": 2_000_000,
    }


class _Connection:
    """One librdkafka producer and the thread that serves its delivery reports."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.broken = False
        self.producer = Producer(config | {"error_cb": self._on_error, "logger": log})
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="kafka-delivery-reports", daemon=True)
        self._thread.start()

    def _on_error(self, err: KafkaError) -> None:
        if err.fatal():
            self.broken = True
            log.error("Kafka producer: fatal error %s; a new producer will be made", err.name())
        else:
            log.warning("Kafka producer: %s", err.name())

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.producer.poll(_POLL_S)

    def close(self, timeout_s: float, purge: bool) -> None:
        """Waits up to `timeout_s` for what is queued (or, with `purge`, fails it
        at once): every waiting request gets its answer before the thread stops."""
        if purge:
            self.producer.purge()
        remaining = self.producer.flush(timeout_s)
        if remaining:
            self.producer.purge()
            self.producer.flush(1)
        self._stop.set()
        self._thread.join(timeout=_POLL_S * 5)


class _Batch:
    """The delivery reports of one request's records (called on the poller thread)."""

    def __init__(self, count: int, loop: asyncio.AbstractEventLoop, done: asyncio.Future[None]) -> None:
        self.positions: list[Position | None] = [None] * count
        self.error: KafkaError | None = None
        self._left = count
        self._loop = loop
        self._done = done

    def report(self, index: int) -> Callable[[KafkaError | None, Message], None]:
        def delivered(err: KafkaError | None, msg: Message) -> None:
            if err is not None:
                self.error = self.error or err
            else:
                self.positions[index] = Position(msg.partition() or 0, msg.offset() or 0)
            self._left -= 1
            if self._left == 0:
                # RuntimeError: the loop is closed, nobody waits any more
                with contextlib.suppress(RuntimeError):
                    self._loop.call_soon_threadsafe(_resolve, self._done)

        return delivered


def _resolve(done: asyncio.Future[None]) -> None:
    if not done.done():
        done.set_result(None)


class EventProducer:
    """One idempotent producer per process, created on first use and again after
    a failure, so that ingest starts (and answers 503) without the broker."""

    def __init__(self, settings: IngestSettings) -> None:
        self._settings = settings
        self._config = producer_config(settings)
        self._lock = threading.Lock()
        self._conn: _Connection | None = None

    def _get(self) -> _Connection:
        with self._lock:
            if self._conn is not None and self._conn.broken:
                self._drop_locked()
            if self._conn is None:
                try:
                    self._conn = _Connection(self._config)
                except KafkaException as exc:
                    raise BrokerUnavailable(f"Kafka producer cannot start: {exc}") from None
            return self._conn

    async def publish(self, messages: Sequence[tuple[bytes, bytes]]) -> list[Position]:
        """Sends every (key, value) and waits until the broker acknowledged all of
        them; raises BrokerUnavailable when any is not acknowledged in time."""
        if not messages:
            return []
        conn = self._get()
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        batch = _Batch(len(messages), loop, done)
        topic = self._settings.events_topic
        timeout = self._settings.produce_timeout_s + 2
        deadline = loop.time() + timeout
        produce = conn.producer.produce
        try:
            for index, (key, value) in enumerate(messages):
                while True:
                    try:
                        produce(topic, value, key, on_delivery=batch.report(index))
                        break
                    except BufferError:  # librdkafka's queue is full: let it drain
                        if loop.time() > deadline:
                            raise
                        await asyncio.sleep(_QUEUE_FULL_WAIT_S)
            await asyncio.wait_for(done, max(0.0, deadline - loop.time()))
        except (KafkaException, BufferError, TimeoutError) as exc:
            # records produced so far may still be acknowledged: the sender resends
            # with the same ids, and a later version never counts twice
            log.warning("publish failed: %s", type(exc).__name__)
            self._reset()
            raise BrokerUnavailable(f"Kafka did not acknowledge the events: {type(exc).__name__}") from None
        if batch.error is not None:
            log.warning("publish failed: %s", batch.error.name())
            self._reset()
            raise BrokerUnavailable(f"Kafka did not acknowledge the events: {batch.error.name()}")
        return [p for p in batch.positions if p is not None]

    def ready(self) -> bool:
        """Whether the broker answers and knows the events topic (blocks: call it
        from a worker thread)."""
        topic = self._settings.events_topic
        try:
            meta = self._get().producer.list_topics(topic, timeout=self._settings.produce_timeout_s)
        except (KafkaException, BrokerUnavailable):
            return False
        found = meta.topics.get(topic)
        return found is not None and found.error is None and bool(found.partitions)

    def _reset(self) -> None:
        """Drops the producer (after a failure): the next request makes a new one.
        Records still queued in it fail at once (their requests answer 503)."""
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            threading.Thread(target=conn.close, args=(1.0, True), daemon=True).start()

    def _drop_locked(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            threading.Thread(target=conn.close, args=(1.0, True), daemon=True).start()

    def close(self) -> None:
        """At shutdown: waits for every queued record's acknowledgement (up to the
        produce timeout), so that no request still waiting is left unanswered."""
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close(self._settings.produce_timeout_s, purge=False)
