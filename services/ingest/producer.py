"""Writing accepted events to Kafka with kafka-python (acks=all, idempotent)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError
from kafka.partitioner.default import DefaultPartitioner

from services.common.producer import LazyProducer
from services.ingest import metrics
from services.ingest.config import IngestSettings
from services.ingest.errors import BrokerUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Position:
    partition: int
    offset: int


class CachedKeyPartitioner(DefaultPartitioner):  # type: ignore[misc]
    """kafka-python's default partitioner (murmur2 of the key, as the Java client),
    computed once per (topic, key, partition count): the keys are counties, a
    few thousand, and the pure-Python hash is a measurable part of each send."""

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


class EventProducer:
    """One idempotent producer per process, created on first use and again after
    the broker was unreachable, so that ingest starts (and answers 503) without it."""

    def __init__(self, settings: IngestSettings) -> None:
        self._settings = settings
        self._producer = LazyProducer(
            settings.kafka_bootstrap,
            "ribao-ingest",
            settings.produce_timeout_s,
            partitioner=CachedKeyPartitioner(),
            linger_ms=2,
            batch_size=256 * 1024,
        )

    def _get(self) -> KafkaProducer:
        try:
            return self._producer.get()
        except KafkaError as exc:
            raise BrokerUnavailable(f"Kafka is unreachable: {exc}") from None

    def publish(self, messages: list[tuple[bytes, bytes]]) -> list[Position]:
        """Sends every (key, value) and waits until the broker acknowledged all of
        them; raises BrokerUnavailable when any is not acknowledged in time."""
        started = time.perf_counter()
        try:
            producer = self._get()
        except BrokerUnavailable:
            metrics.produce_failed("unreachable")
            raise
        timeout = self._settings.produce_timeout_s + 2
        try:
            futures = [producer.send(self._settings.events_topic, key=k, value=v) for k, v in messages]
            metas = [f.get(timeout=timeout) for f in futures]
        except KafkaError as exc:
            metrics.produce_failed(type(exc).__name__)
            log.warning("publish failed: %s", type(exc).__name__)
            self._reset()
            raise BrokerUnavailable(f"Kafka did not acknowledge the events: {type(exc).__name__}") from None
        metrics.produced(time.perf_counter() - started)
        return [Position(m.partition, m.offset) for m in metas]

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
