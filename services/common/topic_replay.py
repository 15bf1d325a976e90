"""Re-reading the events topic (the system of record) for an auditor replay.

Cumulative figures for date D depend on everything recorded before, so the
replay reads each partition from its beginning up to the offset that
`offsets_for_times` gives for T (plus a minute, for records produced just
after being stamped), and keeps the records with `recorded_at <= T`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from kafka import KafkaConsumer, TopicPartition
from pydantic import ValidationError

from schemas.records import EventRecord
from services.common.config import CommonSettings


@dataclass(frozen=True)
class TopicRecord:
    partition: int
    offset: int
    record: EventRecord


def read_until(
    settings: CommonSettings, as_of: datetime, progress: Callable[[int], None] | None = None
) -> tuple[int, Iterator[TopicRecord]]:
    """(how many messages will be read, the records recorded by `as_of`). Messages
    that are not valid records (dead letters) are skipped."""
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
                        try:
                            rec = EventRecord.from_json(msg.value)
                        except (ValidationError, ValueError):
                            continue
                        if rec.recorded_at <= as_of:
                            yield TopicRecord(tp.partition, msg.offset, rec)
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
