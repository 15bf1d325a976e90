"""Dead letters: records on the events topic that the aggregator cannot fold.

Two kinds, both written to the topic by something other than ingest (which
refuses them): a record that is not a valid event, and a valid event whose
jurisdiction is not in the registry (the `divisions` table). Each is copied,
unchanged, to the dead-letter topic (`RIBAO_DEAD_LETTER_TOPIC`, default
`<events topic>.dead`) with headers naming its source partition, offset and
line (schemas/records.py) and the reason, and kept in the ClickHouse table `dead_letters` for auditors
(`GET /v1/audit/dead-letters`). Only then is its offset acknowledged like any
other, so the stream goes on. A crash after the copy and before the
acknowledgement copies it again: the dead-letter topic is at-least-once, and
a dead letter is identified by its source partition, offset and line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kafka.errors import KafkaError

from schemas.records import EventRecord
from services.aggregator.errors import AggregatorError
from services.common.config import CommonSettings
from services.common.producer import LazyProducer


@dataclass(frozen=True)
class Message:
    """One event's value on the events topic (a line of a Kafka record,
    schemas/records.py), as the agent received it."""

    partition: int
    offset: int
    line: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    line: int
    key: bytes | None
    value: bytes | None
    error: str

    @classmethod
    def of(cls, msg: Message, error: str) -> DeadLetter:
        return cls(msg.partition, msg.offset, msg.line, msg.key, msg.value, error)

    def headers(self, source_topic: str) -> list[tuple[str, bytes]]:
        return [
            ("ribao.source.topic", source_topic.encode()),
            ("ribao.source.partition", str(self.partition).encode()),
            ("ribao.source.offset", str(self.offset).encode()),
            ("ribao.source.line", str(self.line).encode()),
            ("ribao.error", self.error.encode()),
        ]


def unknown_jurisdiction(code: str) -> str:
    return f"jurisdiction {code} is not in the registry"


def split_unknown(
    decoded: Iterable[tuple[Message, EventRecord]], unknown: set[str]
) -> tuple[list[tuple[Message, EventRecord]], list[DeadLetter]]:
    """The decoded records whose jurisdiction is in the registry, and dead
    letters for the others (`unknown`: the batch's codes missing from it)."""
    keep, dead = [], []
    for msg, record in decoded:
        code = record.event.jurisdiction
        if code in unknown:
            dead.append(DeadLetter.of(msg, unknown_jurisdiction(code)))
        else:
            keep.append((msg, record))
    return keep, dead


class DeadLetterTopicUnavailable(AggregatorError):
    """Kafka did not acknowledge the copies to the dead-letter topic."""


class DeadLetterSink:
    """Copies dead letters to the dead-letter topic and waits for the broker's
    acknowledgement (acks=all, idempotent)."""

    def __init__(self, settings: CommonSettings, timeout_s: float = 30.0) -> None:
        self._settings = settings
        self._timeout_s = timeout_s
        self._producer = LazyProducer(settings.kafka_bootstrap, "ribao-aggregator-dead-letters", timeout_s)

    def publish(self, dead: list[DeadLetter]) -> None:
        if not dead:
            return
        topic = self._settings.dead_letter_topic_name
        try:
            producer = self._producer.get()
            futures = [
                producer.send(topic, key=d.key, value=d.value, headers=d.headers(self._settings.events_topic))
                for d in dead
            ]
            for future in futures:
                future.get(timeout=self._timeout_s + 2)
        except KafkaError as exc:
            self._producer.reset()
            raise DeadLetterTopicUnavailable(f"{topic}: {type(exc).__name__}: {exc}") from None
