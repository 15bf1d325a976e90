"""The subjects to recount: the aggregator's internal topic between its two
stages.

Stage 1 (the events agent) archives a batch and its fact rows, then names
every subject whose counted events the batch may have changed: the subjects
of its events, of every version of an event_id with several versions, and of
the targets of its retractions. It publishes those names to
`<events topic>.subjects`, partitioned by subject (a stable hash, not
Kafka's key hashing), one record per partition per batch, before it
acknowledges the batch. Stage 2 (the counting agent) consumes that topic:
each subject's partition has one consumer, so one writer recounts a subject
at a time (services/aggregator/counting_runner.py). A name published twice
only recounts a subject twice, which emits nothing the second time.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Iterable

import orjson
from kafka.errors import KafkaError

from services.aggregator.errors import AggregatorError, PoisonRecord
from services.common.config import CommonSettings
from services.common.producer import LazyProducer


def partition_of(subject: str, partitions: int) -> int:
    return zlib.crc32(subject.encode()) % partitions


def encode(subjects: Iterable[str]) -> bytes:
    return orjson.dumps(sorted(subjects))


def decode(raw: bytes | None) -> list[str]:
    try:
        value = orjson.loads(raw or b"")
    except orjson.JSONDecodeError as exc:
        raise PoisonRecord(f"not a list of subjects: {exc}") from None
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise PoisonRecord("not a list of subjects")
    return value


class SubjectsUnavailable(AggregatorError):
    """Kafka did not acknowledge the subjects to recount."""


class SubjectSink:
    """Publishes subjects to recount and waits for the broker (acks=all)."""

    def __init__(self, settings: CommonSettings, timeout_s: float = 30.0) -> None:
        self._topic = settings.subjects_topic_name
        self._timeout_s = timeout_s
        self._producer = LazyProducer(settings.kafka_bootstrap, "ribao-aggregator-subjects", timeout_s)

    def publish(self, subjects: Iterable[str]) -> int:
        """Returns the number of records written (one per partition with subjects)."""
        wanted = set(subjects)
        if not wanted:
            return 0
        try:
            producer = self._producer.get()
            partitions = sorted(producer.partitions_for(self._topic) or ())
            if not partitions:
                raise SubjectsUnavailable(f"{self._topic}: no partitions (is the topic created?)")
            by_partition: dict[int, list[str]] = defaultdict(list)
            for s in wanted:
                by_partition[partition_of(s, len(partitions))].append(s)
            futures = [
                producer.send(self._topic, value=encode(names), partition=p)
                for p, names in by_partition.items()
            ]
            for future in futures:
                future.get(timeout=self._timeout_s + 2)
            return len(futures)
        except KafkaError as exc:
            self._producer.reset()
            raise SubjectsUnavailable(f"{self._topic}: {type(exc).__name__}: {exc}") from None
