"""The API's own metrics: ClickHouse query durations by report kind, and the
pipeline as the read side sees it, measured at each scrape: the aggregator's
consumer lag per stage and partition (the end offsets less the offsets its
consumer group committed, which it commits only once a batch is stored: on
the events topic for the fold, on the subjects topic for the counts the
figures are read from), and whether Kafka and ClickHouse answer.

The lag is read from Kafka, not from the aggregator, so it keeps rising while
the aggregator is down (when its own /metrics cannot answer).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import Any

from prometheus_client import REGISTRY, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from services.api.config import ApiSettings
from services.common.clickhouse import client
from services.common.request_context import current

log = logging.getLogger("ribao.api.metrics")

QUERY_DURATION = Histogram(
    "ribao_api_store_query_duration_seconds",
    "ClickHouse query durations, by report kind (daily, zero, replay, dead_letters, jurisdictions, ...)",
    ["kind"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)


def report_kind() -> str:
    """The kind of report the current request asks for: the last fixed segment
    of its route template (`/v1/reports/daily` -> daily); `other` outside a request."""
    info = current()
    if info is None:
        return "other"
    fixed = [part for part in info.route.strip("/").split("/") if part and not part.startswith("{")]
    return fixed[-1].replace("-", "_") if fixed else "other"


def observe_query(seconds: float) -> None:
    QUERY_DURATION.labels(report_kind()).observe(seconds)


class PipelineCollector(Collector):
    """`ribao_consumer_lag{partition}`, `ribao_broker_up`, `ribao_store_up`,
    computed when scraped (clients kept between scrapes, dropped after an error)."""

    def __init__(self, settings: ApiSettings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._consumer: Any = None
        self._admin: Any = None

    def _lag(self) -> dict[tuple[str, int], int]:
        """(stage, partition) -> records not committed by the aggregator's group:
        stage `fold` on the events topic, `count` on its subjects topic."""
        from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

        s = self._settings
        if self._consumer is None:
            self._consumer = KafkaConsumer(bootstrap_servers=s.kafka_bootstrap, request_timeout_ms=5000)
            self._admin = KafkaAdminClient(bootstrap_servers=s.kafka_bootstrap, request_timeout_ms=5000)
        committed = self._admin.list_group_offsets({s.aggregator_id: None}).get(s.aggregator_id, {})
        lag: dict[tuple[str, int], int] = {}
        for stage, topic in (("fold", s.events_topic), ("count", s.subjects_topic_name)):
            parts = self._consumer.partitions_for_topic(topic) or set()
            tps = [TopicPartition(topic, p) for p in sorted(parts)]
            ends = self._consumer.end_offsets(tps) if tps else {}
            for tp in tps:
                done = max(0, committed[tp].offset) if tp in committed else 0
                lag[(stage, tp.partition)] = max(0, ends[tp] - done)
        return lag

    def _close(self) -> None:
        for c in (self._consumer, self._admin):
            if c is not None:
                with contextlib.suppress(Exception):  # closing a broken client
                    c.close()
        self._consumer = self._admin = None

    def _store_up(self) -> bool:
        ch = client(self._settings)
        try:
            ch.execute("SELECT 1")
            return True
        except Exception:  # any failure: the store does not answer
            return False
        finally:
            ch.disconnect()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._lock:
            lag: dict[tuple[str, int], int] | None
            try:
                lag = self._lag()
            except Exception as exc:  # Kafka unreachable, group or topic unknown
                log.warning("consumer lag unavailable: %s", type(exc).__name__)
                self._close()
                lag = None
            store = self._store_up()
        family = GaugeMetricFamily(
            "ribao_consumer_lag",
            "Records not yet committed by the aggregator's consumer group, per stage (fold: the events "
            "topic; count: its subjects topic) and partition",
            labels=["stage", "partition"],
        )
        for (stage, partition), n in sorted((lag or {}).items()):
            family.add_metric([stage, str(partition)], n)
        yield family
        yield GaugeMetricFamily("ribao_broker_up", "1 when Kafka answered this scrape", value=lag is not None)
        yield GaugeMetricFamily("ribao_store_up", "1 when ClickHouse answered this scrape", value=store)


_installed: PipelineCollector | None = None


def install_pipeline_collector(settings: ApiSettings) -> None:
    """Registers the collector once per process (an app factory may run twice in tests)."""
    global _installed
    if _installed is None:
        _installed = PipelineCollector(settings)
        REGISTRY.register(_installed)
