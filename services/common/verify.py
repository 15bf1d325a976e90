"""`ribao verify`: the event archive checked against the events topic.

Per partition, every offset Kafka holds must be in the archive (as an event
or a dead letter), and the archive must hold no offset Kafka does not have.
Offsets at or after the aggregator's committed offset are not folded yet:
they are reported as pending, not as missing. Offsets stream from ClickHouse
in order, so memory does not grow with the archive.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import CoordinatorNotAvailableError

from services.common.clickhouse import client
from services.common.config import CommonSettings

OFFSETS_SQL = """
SELECT DISTINCT kafka_offset FROM (
    SELECT kafka_offset FROM events WHERE kafka_partition = %(p)s
    UNION ALL
    SELECT kafka_offset FROM dead_letters WHERE kafka_partition = %(p)s
)
ORDER BY kafka_offset"""


@dataclass
class PartitionReport:
    partition: int
    kafka_start: int
    kafka_end: int
    committed: int
    archived: int = 0
    #: offset ranges [first, last] Kafka has below the committed offset and the archive lacks
    missing: list[tuple[int, int]] = field(default_factory=list)
    #: offsets the archive has and Kafka does not
    unknown: list[int] = field(default_factory=list)

    @property
    def pending(self) -> int:
        return max(0, self.kafka_end - max(self.committed, self.kafka_start))

    @property
    def ok(self) -> bool:
        return not self.missing and not self.unknown


def gaps(offsets: Iterable[int], start: int, end: int) -> Iterator[tuple[int, int]]:
    """Ranges [first, last] of [start, end) absent from sorted `offsets`."""
    expected = start
    for offset in offsets:
        if offset < start or offset >= end:
            continue
        if offset > expected:
            yield expected, offset - 1
        expected = offset + 1
    if expected < end:
        yield expected, end - 1


def verify(settings: CommonSettings, group: str) -> list[PartitionReport]:
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        parts = sorted(consumer.partitions_for_topic(settings.events_topic) or [])
        tps = [TopicPartition(settings.events_topic, p) for p in parts]
        starts, ends = consumer.beginning_offsets(tps), consumer.end_offsets(tps)
        try:
            committed = admin.list_group_offsets({group: None}).get(group, {})
        except CoordinatorNotAvailableError:  # no group has committed on this broker yet
            committed = {}
    finally:
        consumer.close()
        admin.close()
    ch = client(settings)
    reports = []
    for tp in tps:
        done = committed[tp].offset if tp in committed else 0
        report = PartitionReport(tp.partition, starts[tp], ends[tp], max(done, 0))

        def stream(report: PartitionReport = report) -> Iterator[int]:
            for (offset,) in ch.execute_iter(OFFSETS_SQL, {"p": report.partition}):
                if offset < report.kafka_start or offset >= report.kafka_end:
                    report.unknown.append(int(offset))
                else:
                    report.archived += 1
                yield int(offset)

        folded_end = min(report.kafka_end, max(report.committed, report.kafka_start))
        report.missing = list(gaps(stream(), report.kafka_start, folded_end))
        reports.append(report)
    return reports
