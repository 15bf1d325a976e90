"""The aggregator's metrics and its per-batch log line.

The worker runs Faust with its web server off, so /metrics comes from
prometheus-client's own HTTP server on `RIBAO_AGGREGATOR_METRICS_PORT`
(`serve`). The agents call small functions: `observe_fold` (the fold of one
batch), `observe_batch` (a batch written and acknowledged), `observe_recount`
(a batch of the subjects topic recounted); `install` adds a Faust timer that
reads the consumer's high-water marks on the events topic for the lag.
Freshness and lag are computed when scraped, from the last offset and
`recorded_at` folded on each partition:

- lag = high-water mark - (last folded offset + 1), per assigned partition;
- freshness = now - recorded_at of the last folded event, per partition (it
  grows on an idle topic too: the alert rules pair it with a lag above 0).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from prometheus_client import REGISTRY, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from services.aggregator.dead_letters import DeadLetter
from services.aggregator.fold import Effects

log = logging.getLogger("ribao.aggregator")

#: how often the consumer's high-water marks are read (s)
HIGHWATER_EVERY_S = 2.0
_DURATIONS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

FOLDED = Counter("ribao_aggregator_events_folded", "Events folded and stored (their offsets acknowledged)")
DEAD = Counter("ribao_aggregator_dead_letters", "Records moved to the dead-letter topic (never counted)")
BATCH_EVENTS = Histogram(
    "ribao_aggregator_batch_events",
    "Records per written batch (events and dead letters)",
    buckets=(1, 10, 50, 100, 500, 1000, 2500, 5000, 10_000, 25_000, 50_000),
)
FOLD_DURATION = Histogram(
    "ribao_aggregator_fold_duration_seconds", "Time to fold one batch into rows", buckets=_DURATIONS
)
WRITE_DURATION = Histogram(
    "ribao_aggregator_write_duration_seconds",
    "Time to write one batch to ClickHouse and the dead-letter topic, retries included",
    buckets=_DURATIONS,
)
RECOUNTED = Counter(
    "ribao_aggregator_subjects_recounted", "Subjects recounted by the counting stage (the subjects topic)"
)
COUNT_DELTAS = Counter("ribao_aggregator_count_deltas", "Count deltas the counting stage wrote")
RECOUNT_DURATION = Histogram(
    "ribao_aggregator_recount_duration_seconds",
    "Time to recount one batch of subjects and write its deltas, retries included",
    buckets=_DURATIONS,
)
BATCH_DURATION = Histogram(
    "ribao_aggregator_batch_duration_seconds",
    "Time from taking a batch's first records from the stream to acknowledging them",
    buckets=_DURATIONS,
)


class Progress(Collector):
    """Per partition: the last folded offset and recorded_at, the high-water
    mark; exposed as lag, freshness and the last folded timestamp."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: partition -> (next offset to fold, recorded_at in µs of the last folded event)
        self._folded: dict[int, tuple[int, int | None]] = {}
        self._highwater: dict[int, int] = {}

    def folded(self, partition: int, offset: int, recorded_us: int | None) -> None:
        with self._lock:
            _, last = self._folded.get(partition, (0, None))
            self._folded[partition] = (offset + 1, recorded_us if recorded_us is not None else last)

    def assigned(self, partitions: set[int], marks: dict[int, int]) -> None:
        """The partitions this worker holds now, with their high-water marks; a
        partition moved to another worker is no longer reported here."""
        with self._lock:
            self._highwater = dict(marks)
            self._folded = {p: v for p, v in self._folded.items() if p in partitions}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._lock:
            folded, highwater = dict(self._folded), dict(self._highwater)
        now = time.time()
        lag = GaugeMetricFamily(
            "ribao_aggregator_consumer_lag",
            "High-water mark less the next offset to fold, per assigned partition (this worker's view)",
            labels=["partition"],
        )
        for p, mark in sorted(highwater.items()):
            if p in folded:
                lag.add_metric([str(p)], max(0, mark - folded[p][0]))
        yield lag
        fresh = GaugeMetricFamily(
            "ribao_aggregator_freshness_seconds",
            "Now less the recorded_at of the last folded event, per partition",
            labels=["partition"],
        )
        stamp = GaugeMetricFamily(
            "ribao_aggregator_last_folded_recorded_timestamp_seconds",
            "recorded_at of the last folded event, per partition (Unix seconds)",
            labels=["partition"],
        )
        for p, (_, recorded_us) in sorted(folded.items()):
            if recorded_us is not None:
                fresh.add_metric([str(p)], max(0.0, now - recorded_us / 1e6))
                stamp.add_metric([str(p)], recorded_us / 1e6)
        yield fresh
        yield stamp


PROGRESS = Progress()
REGISTRY.register(PROGRESS)


def observe_fold(seconds: float) -> None:
    FOLD_DURATION.observe(seconds)


def observe_batch(
    effects: Sequence[Effects], dead: Sequence[DeadLetter], write_s: float, total_s: float
) -> None:
    """A batch is stored and acknowledged: counts it, moves each partition's
    position and freshness, and logs one JSON line (counts only, no content)."""
    FOLDED.inc(len(effects))
    DEAD.inc(len(dead))
    BATCH_EVENTS.observe(len(effects) + len(dead))
    WRITE_DURATION.observe(write_s)
    BATCH_DURATION.observe(total_s)
    last: dict[int, tuple[int, int | None]] = {}
    for e in effects:
        a = e.archive
        if a.kafka_offset >= last.get(a.kafka_partition, (-1, None))[0]:
            last[a.kafka_partition] = (a.kafka_offset, a.recorded_us)
    for d in dead:
        if d.offset > last.get(d.partition, (-1, None))[0]:
            last[d.partition] = (d.offset, last.get(d.partition, (-1, None))[1])
    for partition, (offset, recorded_us) in last.items():
        PROGRESS.folded(partition, offset, recorded_us)
    log.info(
        "batch",
        extra={
            "events": len(effects),
            "dead_letters": len(dead),
            "partitions": sorted(last),
            "write_ms": round(write_s * 1000, 2),
            "duration_ms": round(total_s * 1000, 2),
        },
    )


def observe_recount(subjects: int, changed: int, deltas: int, seconds: float) -> None:
    """A batch of the subjects topic is recounted and acknowledged: counts it
    and logs one JSON line."""
    RECOUNTED.inc(subjects)
    COUNT_DELTAS.inc(deltas)
    RECOUNT_DURATION.observe(seconds)
    log.info(
        "recount",
        extra={
            "subjects": subjects,
            "changed": changed,
            "deltas": deltas,
            "duration_ms": round(seconds * 1000, 2),
        },
    )


def install(app: Any, events_topic: str) -> None:
    """A Faust timer that reads the consumer's high-water marks on the events
    topic (on the event loop, where the consumer lives) for the lag."""

    @app.timer(HIGHWATER_EVERY_S)  # type: ignore[untyped-decorator]
    async def read_highwaters() -> None:
        marks, partitions = {}, set()
        try:
            consumer = app.consumer
            for tp in consumer.assignment():
                if tp.topic != events_topic:
                    continue
                partitions.add(tp.partition)
                mark = consumer.highwater(tp)
                if mark is not None:  # None until the partition was fetched from
                    marks[tp.partition] = int(mark)
        except Exception as exc:  # a consumer not started or rebalancing: keep the last marks
            log.debug("high-water marks unavailable (%s)", type(exc).__name__)
            return
        PROGRESS.assigned(partitions, marks)


def serve(host: str, port: int) -> None:
    """/metrics on host:`port` (0: none), from a thread of its own. A port in
    use (a second worker on one machine with the same settings) leaves this
    worker without /metrics, with a warning: folding goes on."""
    if not port:
        return
    try:
        start_http_server(port, addr=host)
    except OSError as exc:
        log.warning("metrics: cannot listen on %s:%d (%s); this worker serves no /metrics", host, port, exc)
        return
    log.info("metrics on http://%s:%d/metrics", host, port)
