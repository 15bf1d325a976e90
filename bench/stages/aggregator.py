"""Stage 2a: the aggregator's sustained rate. It is started on the backlog the
preload and the ingest stage left on the topic (nothing else running but the
API, idle), and timed from the first archive rows written (ClickHouse part
metadata, polled twice a second) until the counts are complete: the archive
holds every event and the counting agent has committed every subject to
recount. Events/s while it works, start-up excluded (reported apart)."""

from __future__ import annotations

import time
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from bench.stack import Stack
from bench.stages.progress import Progress
from services.common.clickhouse import client
from services.common.config import CommonSettings

ROWS_SQL = """
SELECT sum(rows) FROM system.parts
WHERE database = %(db)s AND table = %(table)s AND active"""


def topic_size(settings: CommonSettings) -> int:
    """Records on the events topic (sum of the partitions' end offsets)."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    try:
        parts = consumer.partitions_for_topic(settings.events_topic) or set()
        tps = [TopicPartition(settings.events_topic, p) for p in parts]
        return int(sum(consumer.end_offsets(tps).values()))
    finally:
        consumer.close()


def archived(settings: CommonSettings, table: str = "events") -> int:
    rows = client(settings).execute(ROWS_SQL, {"db": settings.clickhouse_database, "table": table})
    return int(rows[0][0] or 0)


def group_lag(settings: CommonSettings, group: str, topic: str) -> tuple[int, int]:
    """(records of `topic` the group has not committed, records on it). On the
    events topic a record holds one or more events (schemas/records.py): the
    archive's rows count events, the topic's offsets records."""
    from kafka import KafkaAdminClient

    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or set()]
        ends = consumer.end_offsets(tps)
        committed = admin.list_group_offsets({group: None}).get(group, {})
        lag = sum(max(0, ends[tp] - (committed[tp].offset if tp in committed else 0)) for tp in tps)
        return lag, int(sum(ends.values()))
    finally:
        consumer.close()
        admin.close()


def wait_folded(settings: CommonSettings, group: str, timeout: float, label: str) -> list[tuple[float, int]]:
    """Polls until the aggregator's group has committed every record of the
    events topic (every event in them archived and its subjects published);
    returns (time, archived rows) samples, the last taken after that."""
    samples: list[tuple[float, int]] = []
    lag, total = group_lag(settings, group, settings.events_topic)
    progress = Progress(f"{label}, records", total)
    deadline = time.monotonic() + timeout
    while True:
        rows = archived(settings)
        samples.append((time.perf_counter(), rows))
        lag, total = group_lag(settings, group, settings.events_topic)
        progress.update(total - lag)
        if lag == 0:
            samples.append((time.perf_counter(), archived(settings)))
            return samples
        if time.monotonic() > deadline:
            raise TimeoutError(f"{label}: {lag:,} of {total:,} records not folded after {timeout:.0f}s")
        time.sleep(0.5)


def subjects_lag(settings: CommonSettings, group: str) -> int:
    """Records of the subjects topic the group has not committed (recounts not written)."""
    return group_lag(settings, group, settings.subjects_topic_name)[0]


def wait_recounted(settings: CommonSettings, group: str, timeout: float) -> None:
    """After the archive holds every event: until the counting agent has
    committed every subject stage 1 published (the counts are complete)."""
    deadline = time.monotonic() + timeout
    while (left := subjects_lag(settings, group)) > 0:
        if time.monotonic() > deadline:
            raise TimeoutError(f"recounts: {left:,} subject records not committed after {timeout:.0f}s")
        time.sleep(0.5)


def run(stack: Stack, timeout: float, workers: int = 1) -> dict[str, Any]:
    before = archived(stack.settings)
    started = time.perf_counter()
    for k in range(workers):  # workers of one consumer group share the partitions
        stack.start("aggregator" if k == 0 else f"aggregator-{k + 1}", service="aggregator")
    samples = wait_folded(stack.settings, stack.group, timeout, "aggregator (backlog)")
    # the figures are complete when the counting agent has caught up too: the
    # drain is timed to then (the last archive sample stands for when stage 1 ended)
    wait_recounted(stack.settings, stack.group, timeout)
    samples.append((time.perf_counter(), samples[-1][1]))
    finished = samples[-1][0]
    target = samples[-1][1] - before
    first = next((t, n) for t, n in samples if n > before)
    # the first sample with rows marks the first batch written; the rows before
    # it were written in less than one polling interval, so they are left out
    working = finished - first[0]
    rate = (samples[-1][1] - first[1]) / working if working > 0 else 0.0
    if rate == 0.0:  # drained within one polling interval: count the start-up too
        rate = target / (finished - started)
    return {
        "events": target,
        "records": topic_size(stack.settings),
        "workers": workers,
        "startup_s": round(first[0] - started, 1),
        "seconds": round(working, 1),
        "events_per_s": round(rate),
        "events_per_s_with_startup": round(target / (finished - started)),
        "facts": archived(stack.settings, "facts"),
    }
