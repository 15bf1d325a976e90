"""A kafka-python producer for durable writes (acks=all, idempotent), created
on first use and again after a failure, so that a service starts (and says
the broker is unreachable) without Kafka, and recovers when it is back; and
the packing of events into the events topic's records (schemas/records.py)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kafka import KafkaProducer
from kafka.partitioner.default import murmur2

from schemas.records import pack

log = logging.getLogger(__name__)


class LazyProducer:
    def __init__(self, bootstrap: str, client_id: str, timeout_s: float, **options: Any) -> None:
        ms = int(timeout_s * 1000)
        self._config: dict[str, Any] = {
            "bootstrap_servers": bootstrap,
            "client_id": client_id,
            "acks": "all",
            "enable_idempotence": True,
            "max_block_ms": ms,
            "request_timeout_ms": ms,
            "delivery_timeout_ms": ms + 1000,
            "allow_auto_create_topics": False,
            "bootstrap_timeout_ms": ms,
        } | options
        self._producer: KafkaProducer | None = None
        self._lock = threading.Lock()

    def get(self) -> KafkaProducer:
        """The producer; raises kafka-python's KafkaError when the broker is unreachable."""
        with self._lock:
            if self._producer is None:
                self._producer = KafkaProducer(**self._config)
            return self._producer

    def reset(self) -> None:
        """Drops the producer (after a failure): the next `get` makes a new one."""
        with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            try:
                producer.close(timeout=1)
            except Exception:  # closing a broken producer must not mask the real error
                log.debug("closing the producer failed", exc_info=True)


#: the largest value of a record holding several events (brokers take 1 MiB by default)
MAX_RECORD_BYTES = 512 * 1024


class KeyPartitions:
    """The partition of a key as kafka-python's default partitioner (murmur2,
    as the Java client) chooses it, computed once per (key, partition count):
    the keys are counties, a few thousand, and the pure-Python hash is a
    measurable part of each send."""

    def __init__(self) -> None:
        self._cache: dict[tuple[bytes, int], int] = {}

    def of(self, key: bytes, count: int) -> int:
        found = self._cache.get((key, count))
        if found is None:
            found = (murmur2(key) & 0x7FFFFFFF) % count
            self._cache[(key, count)] = found
        return found


@dataclass(frozen=True)
class PackedRecord:
    """One Kafka record of several values (schemas.records.pack)."""

    partition: int
    value: bytes
    #: the positions, among the values packed, of the ones it holds, in its line order
    members: tuple[int, ...]


def pack_for_topic(
    producer: KafkaProducer, topic: str, partitions: KeyPartitions, messages: Sequence[tuple[bytes, bytes]]
) -> list[PackedRecord]:
    """The (key, value) messages as ingest writes them to `topic`: each bound
    for its key's partition, packed into as few records as fit. Raises
    LookupError when the producer knows no partition of the topic."""
    count = len(producer.partitions_for(topic) or ())
    if not count:
        raise LookupError(f"Kafka does not know the topic {topic}")
    parts = [partitions.of(key, count) for key, _ in messages]
    return pack_by_partition(parts, [value for _, value in messages])


def pack_by_partition(
    partitions: Sequence[int], values: Sequence[bytes], max_bytes: int = MAX_RECORD_BYTES
) -> list[PackedRecord]:
    """The values, each bound for its partition, packed into as few records as
    fit: in their order within each partition, each record at most `max_bytes`
    (a larger value goes alone)."""
    by_partition: dict[int, list[int]] = {}
    for i, p in enumerate(partitions):
        by_partition.setdefault(p, []).append(i)
    out: list[PackedRecord] = []
    for p, members in by_partition.items():
        chunk: list[int] = []
        size = 0
        for i in members:
            grown = size + len(values[i]) + (1 if chunk else 0)
            if chunk and grown > max_bytes:
                out.append(PackedRecord(p, pack([values[j] for j in chunk]), tuple(chunk)))
                chunk, grown = [], len(values[i])
            chunk.append(i)
            size = grown
        out.append(PackedRecord(p, pack([values[j] for j in chunk]), tuple(chunk)))
    return out
