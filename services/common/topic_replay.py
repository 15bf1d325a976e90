"""Re-reading the events topic (the system of record) for an auditor replay.

Cumulative figures for date D depend on everything recorded before, so the
replay reads each partition from its beginning up to the offset that
`offsets_for_times` gives for T (plus a minute, for records produced just
after being stamped), and keeps the records with `recorded_at <= T`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from kafka import KafkaConsumer, TopicPartition
from pydantic import ValidationError

from schemas.records import EventRecord, unpack
from services.common.config import CommonSettings


@dataclass(frozen=True)
class TopicRecord:
    """An event on the topic: its Kafka record, its line there (schemas/records.py)."""

    partition: int
    offset: int
    line: int
    record: EventRecord


def read_until(
    settings: CommonSettings, as_of: datetime, progress: Callable[[int], None] | None = None
) -> tuple[int, Iterator[TopicRecord]]:
    """(how many messages will be read, the records recorded by `as_of`). Messages
    that are not valid records (dead letters) are skipped; so are the valid
    records the aggregator moved to the dead-letter topic (see `dead_positions`)."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False, consumer_timeout_ms=10_000
    )
    parts = sorted(consumer.partitions_for_topic(settings.events_topic) or [])
    tps = [TopicPartition(settings.events_topic, p) for p in parts]
    consumer.assign(tps)
    starts, ends = consumer.beginning_offsets(tps), consumer.end_offsets(tps)
    stamp = int((as_of + timedelta(minutes=1)).timestamp() * 1000)
    found = consumer.offsets_for_times({tp: stamp for tp in tps})
    stops = {tp: (found[tp].offset if found.get(tp) else ends[tp]) for tp in tps}
    total = sum(max(0, stops[tp] - starts[tp]) for tp in tps)
    for tp in tps:
        consumer.seek(tp, starts[tp])
    dead = dead_positions(settings)

    def records() -> Iterator[TopicRecord]:
        try:
            remaining = {tp for tp in tps if stops[tp] > starts[tp]}
            consumer.pause(*[tp for tp in tps if tp not in remaining])
            while remaining:
                batch = consumer.poll(timeout_ms=1000, max_records=5000)
                for tp, messages in batch.items():
                    for msg in messages:
                        if msg.offset >= stops[tp]:
                            break
                        if progress:
                            progress(1)
                        for line, value in enumerate(unpack(msg.value or b"")):
                            try:
                                rec = EventRecord.from_json(value)
                            except (ValidationError, ValueError):
                                continue
                            if rec.recorded_at <= as_of and (tp.partition, msg.offset, line) not in dead:
                                yield TopicRecord(tp.partition, msg.offset, line, rec)
                    if consumer.position(tp) >= stops[tp] or (
                        messages and messages[-1].offset >= stops[tp] - 1
                    ):
                        remaining.discard(tp)
                        consumer.pause(tp)
                if not batch and all(consumer.position(tp) >= stops[tp] for tp in remaining):
                    break
        finally:
            consumer.close()

    return total, records()


def dead_positions(settings: CommonSettings) -> set[tuple[int, int, int]]:
    """(partition, offset, line) of every events-topic event on the dead-letter topic
    (from its `ribao.source.*` headers): records never folded, such as a valid
    event whose jurisdiction is not in the registry."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False, consumer_timeout_ms=5_000
    )
    try:
        parts = consumer.partitions_for_topic(settings.dead_letter_topic_name) or set()
        tps = [TopicPartition(settings.dead_letter_topic_name, p) for p in sorted(parts)]
        if not tps:
            return set()
        consumer.assign(tps)
        ends = consumer.end_offsets(tps)
        for tp in tps:
            consumer.seek_to_beginning(tp)
        out: set[tuple[int, int, int]] = set()
        deadline = time.monotonic() + 120
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {settings.dead_letter_topic_name} took over 120 s")
            for messages in consumer.poll(timeout_ms=1000, max_records=5000).values():
                for msg in messages:
                    headers = dict(msg.headers or [])
                    if headers.get("ribao.source.topic") == settings.events_topic.encode():
                        out.add(
                            (
                                int(headers["ribao.source.partition"]),
                                int(headers["ribao.source.offset"]),
                                int(headers.get("ribao.source.line", b"0")),  # before lines: one event
                            )
                        )
        return out
    finally:
        consumer.close()
