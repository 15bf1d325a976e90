"""The aggregator's progress per partition: lag from the high-water marks,
freshness from the last folded recorded_at, partitions moved away dropped."""

from __future__ import annotations

import time

from prometheus_client import REGISTRY

from services.aggregator import metrics
from services.aggregator.dead_letters import DeadLetter
from services.aggregator.fold import ArchiveRow, Effects


def effects(partition: int, offset: int, recorded_us: int) -> Effects:
    archive = ArchiveRow(
        "e", recorded_us, "h", "screening.registered", "340826", 0, "s", "src", "{}", partition, offset, 0
    )
    return Effects(archive, (), ())


def folded() -> float:
    return REGISTRY.get_sample_value("ribao_aggregator_events_folded_total") or 0.0


def gauges() -> dict[tuple[str, str], float]:
    return {
        (family.name, sample.labels["partition"]): sample.value
        for family in metrics.PROGRESS.collect()
        for sample in family.samples
    }


def test_lag_and_freshness_follow_the_batches_and_the_assignment() -> None:
    recorded = int((time.time() - 30) * 1e6)
    before = folded()
    metrics.observe_batch(
        [effects(900, 7, recorded), effects(900, 5, recorded - 10**6)],
        [DeadLetter(901, 3, 0, None, b"x", "not an event")],
        0.01,
        0.02,
    )
    assert folded() == before + 2
    metrics.PROGRESS.assigned({900, 901}, {900: 10, 901: 4})
    g = gauges()
    assert g[("ribao_aggregator_consumer_lag", "900")] == 2  # offsets 8 and 9 wait
    assert g[("ribao_aggregator_consumer_lag", "901")] == 0
    assert g[("ribao_aggregator_last_folded_recorded_timestamp_seconds", "900")] == recorded / 1e6
    assert 30 <= g[("ribao_aggregator_freshness_seconds", "900")] < 3600
    assert ("ribao_aggregator_freshness_seconds", "901") not in g  # a dead letter has no recorded_at

    metrics.PROGRESS.assigned({901}, {901: 4})  # partition 900 moved to another worker
    assert not any(p == "900" for _, p in gauges())
