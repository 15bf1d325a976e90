"""Writing accepted events to Kafka with kafka-python (acks=all, idempotent)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from kafka import KafkaProducer
from kafka.errors import KafkaError

from services.common.producer import KeyPartitions, LazyProducer, pack_for_topic
from services.ingest import metrics
from services.ingest.config import IngestSettings
from services.ingest.errors import BrokerUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Position:
    """An event's place on the topic: its record (partition, offset) and its
    line in that record (schemas/records.py)."""

    partition: int
    offset: int
    line: int


class EventProducer:
    """One idempotent producer per process, created on first use and again after
    the broker was unreachable, so that ingest starts (and answers 503) without it."""

    def __init__(self, settings: IngestSettings) -> None:
        self._settings = settings
        self._producer = LazyProducer(
            settings.kafka_bootstrap,
            "ribao-ingest",
            settings.produce_timeout_s,
            linger_ms=2,
            batch_size=256 * 1024,
        )
        self._partitions = KeyPartitions()

    def _get(self) -> KafkaProducer:
        try:
            return self._producer.get()
        except KafkaError as exc:
            raise BrokerUnavailable(f"Kafka is unreachable: {exc}") from None

    def publish(self, messages: list[tuple[bytes, bytes]]) -> list[Position]:
        """Sends every (key, value), those bound for one partition (the key's)
        packed into as few records as fit, and waits until the broker
        acknowledged all of them; raises BrokerUnavailable when any is not
        acknowledged in time. Returns each value's position, in order."""
        started = time.perf_counter()
        try:
            producer = self._get()
        except BrokerUnavailable:
            metrics.produce_failed("unreachable")
            raise
        timeout = self._settings.produce_timeout_s + 2
        topic = self._settings.events_topic
        try:
            try:
                records = pack_for_topic(producer, topic, self._partitions, messages)
            except LookupError as exc:
                raise BrokerUnavailable(str(exc)) from None
            futures = [producer.send(topic, value=r.value, partition=r.partition) for r in records]
            metas = [f.get(timeout=timeout) for f in futures]
        except KafkaError as exc:
            metrics.produce_failed(type(exc).__name__)
            log.warning("publish failed: %s", type(exc).__name__)
            self._reset()
            raise BrokerUnavailable(f"Kafka did not acknowledge the events: {type(exc).__name__}") from None
        metrics.produced(time.perf_counter() - started)
        out: list[Position | None] = [None] * len(messages)
        for record, meta in zip(records, metas, strict=True):
            for line, member in enumerate(record.members):
                out[member] = Position(meta.partition, meta.offset, line)
        return [p for p in out if p is not None]

    def ready(self) -> bool:
        """Whether the broker answers and knows the events topic."""
        try:
            parts = self._get().partitions_for(self._settings.events_topic)
        except (KafkaError, BrokerUnavailable):
            self._reset()
            return False
        return bool(parts)

    def _reset(self) -> None:
        self._producer.reset()

    def close(self) -> None:
        self._reset()
