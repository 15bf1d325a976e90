"""Fault injection that stops the stores (issue #7): ClickHouse down during
aggregation, Kafka down during ingest, and the whole stack stopped and started
again from its data folders. These run on a Kafka and a ClickHouse of this
module's own (started with deploy/kafka.sh and deploy/clickhouse.sh on free
ports, removed afterwards), never on the shared ones. The registry is the
deployment's own: every county, and the towns and villages of 池州 (3417).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from services.common.setup import setup
from tests.integration.eventgen import ingest_events, shifted_days
from tests.integration.faults import (
    Load,
    PrivateInfra,
    end_offsets,
    now,
    record_outcome,
    settle_and_check,
    today,
    villages_of,
    wait_processed,
    write_registry,
)
from tests.integration.harness import Pipeline, new_pipeline, poll, topic_offsets, wait_caught_up

SERVICES = ("ingest", "aggregator", "api")


@dataclass
class Private:
    p: Pipeline
    infra: PrivateInfra

    def start_services(self) -> None:
        p = self.p
        p.start("ingest", f"{p.ingest_url}/readyz", timeout=120)
        p.start("aggregator")
        p.start("api", f"{p.api_url}/readyz", timeout=120)

    def stop_services(self) -> None:
        for name in SERVICES:
            self.p.stop(name)


@pytest.fixture(scope="module")
def private(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Private]:
    work = tmp_path_factory.mktemp("faults-infra")
    infra = PrivateInfra.create(work / "home")
    try:
        infra.start()
        registry = write_registry(work / "registry", ("3417",))
        p = new_pipeline(
            work,
            **infra.service_env,
            RIBAO_REGISTRY_DIR=str(registry),
            # a request waits 5 s (not 15) for the broker before its 503
            RIBAO_PRODUCE_TIMEOUT_S="5",
        )
        setup(p.settings, report=lambda _msg: None)
        p.token = p.credential("faults-admin", "admin", "all")
        stack = Private(p, infra)
        try:
            stack.start_services()
            yield stack
        finally:
            stack.stop_services()
    finally:
        infra.stop()
        infra.remove()


#: every API read, each must answer 503 with a JSON error while ClickHouse is down
READS: list[tuple[str, dict[str, str]]] = [
    ("/v1/reports/daily", {"jurisdiction": "341702"}),
    ("/v1/reports/daily", {"jurisdiction": "341702", "children": "true", "format": "csv"}),
    ("/v1/reports/daily", {"jurisdiction": "341702", "format": "text"}),
    ("/v1/reports/zero", {"jurisdiction": "341702"}),
    ("/v1/jurisdictions/341702", {}),
    ("/v1/audit/replay", {"jurisdiction": "341702"}),
    ("/v1/audit/dead-letters", {}),
]


def test_clickhouse_down_for_30_seconds_during_aggregation(private: Private) -> None:
    p, county = private.p, "341702"
    villages = villages_of(p, county)
    group = p.env["RIBAO_AGGREGATOR_ID"]
    events = ingest_events(23, villages, 12_000, today())
    load = Load(p, events, batch=50, workers=1, pause=0.2).start()
    answers: dict[tuple[str, int], int] = {}
    try:
        load.wait_acked(1500)
        private.infra.run("clickhouse", "stop")
        down = time.monotonic()
        down_at = now()
        time.sleep(3)  # a batch written just before the stop is committed within a second
        ends_down, committed_down = topic_offsets(p.settings, group)
        acked_down = load.acked
        while time.monotonic() - down < 30:
            for path, params in READS:
                resp = p.get(path, **params)
                answers[(path, resp.status_code)] = answers.get((path, resp.status_code), 0) + 1
                assert resp.status_code == 503, (path, params, resp.status_code, resp.text[:300])
                assert resp.json()["error"]["code"] == "store_unavailable", resp.text
            time.sleep(1)
        ends_up, committed_up = topic_offsets(p.settings, group)
        assert load.acked > acked_down  # ingest went on accepting (Kafka is up)
        assert sum(ends_up.values()) > sum(ends_down.values())
        assert committed_up == committed_down  # no offset committed for work not written
        private.infra.run("clickhouse", "start")
        up = time.monotonic()
        ends = end_offsets(p)
        poll(
            lambda: p.get("/v1/reports/daily", jurisdiction=county).status_code,
            lambda code: code == 200,
            timeout=120,
            what="API answering again",
        )
        api_s = time.monotonic() - up
        wait_processed(p, ends)
        catch_up_s = time.monotonic() - up
    finally:
        load.stop()
    assert load.unacked == [], load.answers
    assert p.procs["aggregator"].poll() is None  # the same process rode it out
    log = (p.workdir / "aggregator.log").read_text(errors="replace")
    assert "store write failed" in log or "registry look-up failed" in log  # it backed off and retried
    record_outcome(
        "ClickHouse stopped 30 s during aggregation",
        len(load.acked_ids),
        settle_and_check(p, county, load.acks, mid=down_at),
        catch_up_s,
        f"restart until committed past the restart; API 200 after {api_s:.1f} s",
        f"{sum(answers.values())} API reads while down: all 503 store_unavailable; committed offsets "
        f"held at {sum(committed_down.values())} while the topic grew "
        f"{sum(ends_up.values()) - sum(ends_down.values())} records",
    )


def test_kafka_down_during_ingest(private: Private) -> None:
    p, county = private.p, "341721"
    villages = villages_of(p, county)
    events = ingest_events(29, villages, 6000, today())
    load = Load(p, events, batch=50, workers=2, pause=0.1).start()
    try:
        load.wait_acked(1500)
        private.infra.run("kafka", "stop")
        down_at = now()
        before = dict(load.answers)
        time.sleep(15)
        during = {k: n - before.get(k, 0) for k, n in load.answers.items() if n - before.get(k, 0)}
        private.infra.run("kafka", "start")
        up = time.monotonic()
        acked_up = load.acked
        poll(lambda: load.acked, lambda n: n > acked_up, timeout=120, what="ingest acknowledging again")
        ingest_s = time.monotonic() - up
        resent = load.resend_unacknowledged()
        ends = end_offsets(p)
        wait_processed(p, ends)
        recovery = time.monotonic() - up
    finally:
        load.stop()
    assert during.get("503", 0) > 0 and set(during) <= {"503", "202"}, during  # 503, never 500
    assert resent > 0
    assert p.procs["aggregator"].poll() is None  # the same process rode it out
    verdict = settle_and_check(p, county, load.acks, mid=down_at)
    record_outcome(
        "Kafka stopped during ingest",
        len(load.acked_ids),
        verdict,
        recovery,
        f"restart until resends acknowledged and folded; first 202 after {ingest_s:.1f} s",
        f"answers while down {during}; {resent} events resent with the same ids, "
        f"{len(verdict.expected.versions) - len(verdict.expected.acknowledged)} of them had reached "
        "the topic unacknowledged (counted once)",
    )


def snapshot(p: Pipeline, counties: list[str], days: list[str], as_of: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for county in counties:
        for day in days:
            for path, extra in (("/v1/reports/daily", {"children": "true"}), ("/v1/reports/zero", {})):
                resp = p.get(path, jurisdiction=county, date=day, as_of=as_of, **extra)
                assert resp.status_code == 200, resp.text
                out[f"{path} {county} {day}"] = resp.json()
    out["dead letters"] = p.get("/v1/audit/dead-letters").json()
    return out


def test_whole_stack_restarted_from_its_data_folders(private: Private) -> None:
    p, county = private.p, "341723"
    villages = villages_of(p, county)
    days = shifted_days(today())
    events = ingest_events(31, villages, 4000, today())
    first, second = events[:3000], events[3000:]
    load = Load(p, first, batch=100, workers=2, pause=0.05).start()
    load.finish()
    assert load.unacked == [], load.answers
    wait_caught_up(p, timeout=300)
    as_of = now().isoformat()
    counties = ["341702", "341721", "341722", county]
    before = snapshot(p, counties, days, as_of)

    private.stop_services()
    private.infra.stop()
    started = time.monotonic()
    private.infra.start()
    setup(p.settings, report=lambda _msg: None)  # as `ribao stack up` does: nothing left to do
    private.start_services()
    ready_s = time.monotonic() - started
    after = snapshot(p, counties, days, as_of)
    assert after == before

    load2 = Load(p, second, batch=100, workers=2, pause=0.05).start()
    try:
        load2.wait_acked(1)
        accepting_s = time.monotonic() - started
        load2.finish()
    finally:
        load2.stop()
    assert load2.unacked == [], load2.answers
    acks = load.acks + load2.acks
    record_outcome(
        "whole stack stopped and started again",
        len({a.event_id for a in acks}),
        settle_and_check(p, county, acks, mid=datetime.fromisoformat(as_of)),
        accepting_s,
        f"start of Kafka until ingest accepted again; services ready after {ready_s:.1f} s",
        f"{len(before)} reports (daily with children, zero, dead letters) of 4 counties identical "
        f"before and after; {len(load2.acked_ids)} events accepted after the restart",
    )
