"""The full run's bulk: records written straight to the events topic, as
ingest writes them (bench/records.py; a request's events bound for one
partition packed into one record, REQUEST events a request), with
kafka-python (acks=all, idempotent), while the most recent events are kept
for POST /v1/events."""

from __future__ import annotations

import collections
import time
from collections.abc import Iterable
from typing import Any

import orjson
from kafka import KafkaProducer

from bench.loadgen import Item
from bench.records import record_key, record_value
from bench.stages.progress import Progress
from services.common.config import CommonSettings
from services.common.producer import KeyPartitions, pack_for_topic
from services.ingest.config import DEV_HMAC_KEY

#: events per request, as the bench's senders post them
REQUEST = 1000


def split_and_preload(
    settings: CommonSettings, items: Iterable[Item], expected: int, keep_last: int
) -> tuple[list[bytes], dict[str, Any]]:
    """Writes every item but the last `keep_last` to the topic; returns those
    last ones (each event as posted, JSON) and what the preload measured."""
    kept: collections.deque[tuple[bytes, int]] = collections.deque()
    producer: KafkaProducer | None = None
    failures: list[BaseException] = []
    sent = 0
    progress = Progress("preload to Kafka", max(0, expected - keep_last))
    started = time.perf_counter()
    partitions = KeyPartitions()
    request: list[tuple[bytes, bytes]] = []

    def send(producer: KafkaProducer) -> None:
        for packed in pack_for_topic(producer, settings.events_topic, partitions, request):
            future = producer.send(settings.events_topic, value=packed.value, partition=packed.partition)
            future.add_errback(failures.append)
        request.clear()

    try:
        for event, recorded_us in items:
            kept.append((orjson.dumps(event), recorded_us))
            if len(kept) <= keep_last:
                continue
            raw, when = kept.popleft()
            posted = orjson.loads(raw)
            if producer is None:
                producer = KafkaProducer(
                    bootstrap_servers=settings.kafka_bootstrap,
                    client_id="ribao-bench-preload",
                    acks="all",
                    enable_idempotence=True,
                    linger_ms=20,
                    batch_size=1024 * 1024,
                    max_request_size=4 * 1024 * 1024,
                )
            request.append((record_key(posted), record_value(posted, when, DEV_HMAC_KEY)))
            if len(request) >= REQUEST:
                send(producer)
            sent += 1
            progress.update(sent)
        if producer is not None:
            send(producer)
            producer.flush()
    finally:
        if producer is not None:
            producer.close()
    if failures:
        raise RuntimeError(f"preload: {len(failures)} records not acknowledged: {failures[0]!r}")
    seconds = time.perf_counter() - started
    return [raw for raw, _ in kept], {
        "events": sent,
        "seconds": round(seconds, 1),
        "events_per_s": round(sent / seconds) if sent and seconds else 0,
        "how": "generated and written straight to the topic by the bench (one Python process, "
        "kafka-python, acks=all); includes generation time",
    }
