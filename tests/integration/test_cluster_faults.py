"""Issue #15, item 3: faults on the local cluster, under steady load through
ingest. After each, every figure of the scenario's county is compared with
the reference over exactly what ingest acknowledged, and the archive is
counted (tests/integration/faults.py, as the single-node fault suite does);
the outcome table (acknowledged / counted / counted twice / recovery time)
is printed at the end of the session.

Each scenario has a county of its own, so they run in any order on one
pipeline (2 ingest, 2 aggregator and 2 API processes on 3 brokers, ZooKeeper
and 2 ClickHouse shards x 2 replicas).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from kafka import KafkaAdminClient

from services.cluster.layout import Layout
from services.common.clickhouse import client
from services.common.config import CommonSettings
from tests.integration import cluster
from tests.integration.eventgen import ingest_events
from tests.integration.faults import (
    Load,
    end_offsets,
    record_outcome,
    settle_and_check,
    today,
    villages_of,
    wait_processed,
)
from tests.integration.harness import Pipeline, poll, topic_offsets

EVENTS = 6000


@dataclass
class Stack:
    p: Pipeline
    servers: cluster.ClusterServers
    urls: dict[str, str]

    @property
    def layout(self) -> Layout:
        return self.servers.layout

    def load(self, county: str, seed: int) -> Load:
        """A steady load (about 250 events/s) of EVENTS events in the county."""
        return Load(self.p, ingest_events(seed, villages_of(self.p, county), EVENTS, today()), 50, 1, 0.2)


@pytest.fixture(scope="module")
def servers(cluster_servers: cluster.ClusterServers) -> cluster.ClusterServers:
    return cluster_servers


@pytest.fixture(scope="module")
def stack(servers: cluster.ClusterServers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("cluster-faults")
    # a request waits 5 s (not 15) for the brokers before its 503
    p = cluster.cluster_pipeline(work, servers.layout, ("3417", "3418"), RIBAO_PRODUCE_TIMEOUT_S="5")
    try:
        urls = cluster.start_services(p, servers.layout)
        p.ingest_url, p.api_url = urls["ingest-1"], urls["api-1"]
        yield Stack(p, servers, urls)
    finally:
        cluster.remove(p)


def leaders(settings: CommonSettings) -> dict[int, int]:
    """Partitions of the events topic led by each broker (node id)."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=10_000)
    try:
        (topic,) = admin.describe_topics([settings.events_topic])
    finally:
        admin.close()
    out: dict[int, int] = {}
    for part in topic["partitions"]:
        out[part["leader_id"]] = out.get(part["leader_id"], 0) + 1
    return out


def under_replicated(settings: CommonSettings) -> int | None:
    """Partitions of the events and subjects topics with fewer in-sync replicas than replicas."""
    try:
        admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=10_000)
        try:
            topics = admin.describe_topics([settings.events_topic, settings.subjects_topic_name])
        finally:
            admin.close()
    except Exception:  # a broker restarting: not answering yet
        return None
    return sum(len(p["isr_nodes"]) < len(p["replica_nodes"]) for t in topics for p in t["partitions"])


def wait_in_sync(settings: CommonSettings, timeout: float = 180) -> None:
    poll(lambda: under_replicated(settings), lambda n: n == 0, timeout, "every partition in sync")


def reads_answer(stack: Stack, county: str) -> int:
    """Reads from both API processes; returns how many answered 200 (each must)."""
    ok = 0
    for name in ("api-1", "api-2"):
        resp = httpx.get(
            f"{stack.urls[name]}/v1/reports/daily",
            params={"jurisdiction": county, "children": "true"},
            headers=stack.p.headers(),
            timeout=60,
        )
        assert resp.status_code == 200, (name, resp.status_code, resp.text[:300])
        ok += 1
    return ok


def replicas_equal(stack: Stack) -> int:
    """Each shard's replicas hold the same rows in every table (after they have
    fetched what they missed); returns the tables compared."""
    db = stack.p.settings.clickhouse_database
    compared = 0
    for shard in stack.layout.shards:
        nodes = stack.layout.shard_nodes(shard)
        clients = [
            client(CommonSettings(clickhouse_host=n.host, clickhouse_port=n.tcp_port, clickhouse_database=db))
            for n in nodes
        ]
        tables = [
            t
            for (t,) in clients[0].execute(
                "SELECT name FROM system.tables WHERE database = %(db)s AND engine LIKE 'Replicated%%'",
                {"db": db},
            )
        ]
        for ch in clients:
            for table in tables:
                ch.execute(f"SYSTEM SYNC REPLICA {db}.{table}")
        for table in tables:
            counts = {ch.execute(f"SELECT count() FROM {db}.{table}")[0][0] for ch in clients}
            assert len(counts) == 1, (shard, table, counts)
            compared += 1
    return compared


def test_broker_leading_most_partitions_killed(stack: Stack) -> None:
    p, county = stack.p, "341702"
    load = stack.load(county, 41).start()
    try:
        load.wait_acked(1000)
        by_leader = leaders(p.settings)
        victim = f"kafka-{max(by_leader, key=lambda b: by_leader[b])}"
        stack.servers.kill(victim)
        acked = load.acked
        load.wait_acked(acked + 1500, timeout=180)  # ingest goes on with two brokers of three
        restart_s = stack.servers.start(victim)
        up = time.monotonic()
        load.finish()
        resent = load.resend_unacknowledged()
        wait_in_sync(p.settings)
        wait_processed(p, end_offsets(p), timeout=300)
    finally:
        load.stop()
    record_outcome(
        f"cluster: SIGKILL {victim}, leader of {max(by_leader.values())} of 6 partitions",
        len(load.acked_ids),
        settle_and_check(p, county, load.acks),
        time.monotonic() - up,
        "broker restart until every partition in sync and the aggregators caught up",
        f"answers {dict(load.answers)}; {resent} events resent; "
        f"broker ready {restart_s:.1f} s after its start",
    )


def test_second_broker_killed_ingest_answers_503(stack: Stack) -> None:
    p, county = stack.p, "341721"
    load = stack.load(county, 43).start()
    try:
        load.wait_acked(1000)
        by_leader = leaders(p.settings)
        first, second = sorted(by_leader, key=lambda b: -by_leader[b])[:2]
        stack.servers.kill(f"kafka-{first}")
        load.wait_acked(load.acked + 500, timeout=180)
        stack.servers.kill(f"kafka-{second}")
        # requests in flight when it died may still be acknowledged by the two
        # in sync; from then on, one broker of three: no 202 at all
        time.sleep(8)
        before = load.answers["202"], sum(n for a, n in load.answers.items() if a != "202")
        time.sleep(20)
        after = load.answers["202"], sum(n for a, n in load.answers.items() if a != "202")
        assert after[0] == before[0], f"202 below min.insync.replicas: {dict(load.answers)}"
        assert after[1] > before[1], f"no request answered while one broker was up: {dict(load.answers)}"
        assert load.answers["503"] > 0, dict(load.answers)
        started = [stack.servers.start(f"kafka-{b}") for b in (first, second)]
        up = time.monotonic()
        load.finish()
        resent = load.resend_unacknowledged()
        wait_in_sync(p.settings)
        wait_processed(p, end_offsets(p), timeout=300)
    finally:
        load.stop()
    record_outcome(
        "cluster: SIGKILL a second broker while one is down",
        len(load.acked_ids),
        settle_and_check(p, county, load.acks),
        time.monotonic() - up,
        "restarts until in sync and caught up",
        f"answers {dict(load.answers)}: none 202 with one broker; {resent} events resent; brokers ready "
        f"{started[0]:.1f} / {started[1]:.1f} s after their start",
    )


def test_clickhouse_replica_killed(stack: Stack) -> None:
    p, county = stack.p, "341722"
    victim = stack.layout.clickhouse_for(2)[0].name  # api-1's first server: reads fail over
    load = stack.load(county, 47).start()
    reads = 0
    try:
        load.wait_acked(1000)
        stack.servers.kill(victim)
        down = time.monotonic()
        while time.monotonic() - down < 30:
            reads += reads_answer(stack, county)
            time.sleep(1)
        restart_s = stack.servers.start(victim)
        up = time.monotonic()
        load.finish()
        resent = load.resend_unacknowledged()
        wait_processed(p, end_offsets(p), timeout=300)
    finally:
        load.stop()
    recovery_s = time.monotonic() - up
    tables = replicas_equal(stack)
    record_outcome(
        f"cluster: SIGKILL ClickHouse replica {victim}",
        len(load.acked_ids),
        settle_and_check(p, county, load.acks),
        recovery_s,
        "restart until the aggregators caught up",
        f"{reads} API reads while down, all 200 (from the other replica); {tables} tables equal on both "
        f"replicas after its restart; {resent} events resent; server ready {restart_s:.1f} s after its start",
    )


def test_zookeeper_stopped_30_seconds(stack: Stack) -> None:
    p, county = stack.p, "341723"
    group = p.env["RIBAO_AGGREGATOR_ID"]
    (zk,) = stack.layout.zookeeper
    load = stack.load(county, 53).start()
    try:
        load.wait_acked(1000)
        stack.servers.kill(zk.name, signal.SIGTERM)
        down = time.monotonic()
        time.sleep(5)  # a write begun before the stop ends within its timeout
        ends_down, committed_down = topic_offsets(p.settings, group)
        time.sleep(max(0.0, 30 - (time.monotonic() - down)))
        ends_up, committed_up = topic_offsets(p.settings, group)
        assert sum(ends_up.values()) > sum(ends_down.values())  # ingest went on (Kafka needs no ZooKeeper)
        assert committed_up == committed_down, "offsets committed for work ClickHouse could not write"
        restart_s = stack.servers.start(zk.name)
        up = time.monotonic()
        load.finish()
        resent = load.resend_unacknowledged()
        wait_processed(p, end_offsets(p), timeout=300)
    finally:
        load.stop()
    recovery_s = time.monotonic() - up
    crashed = [n.name for n in stack.layout.clickhouse if stack.servers.pid(n.name) is None]
    assert crashed == [], f"ClickHouse servers died while ZooKeeper was away: {crashed}"
    record_outcome(
        "cluster: ZooKeeper stopped 30 s",
        len(load.acked_ids),
        settle_and_check(p, county, load.acks),
        recovery_s,
        "restart until the aggregators caught up",
        f"committed offsets held at {sum(committed_down.values())} while the topic grew "
        f"{sum(ends_up.values()) - sum(ends_down.values())} records; {resent} events resent; "
        f"ZooKeeper ready {restart_s:.1f} s after its start",
    )


def test_rolling_restart(stack: Stack) -> None:
    p, county = stack.p, "341802"
    lay = stack.layout
    load = Load(p, ingest_events(59, villages_of(p, county), EVENTS * 2, today()), 50, 1, 0.2).start()
    began = time.monotonic()
    try:
        load.wait_acked(500)
        for name in (
            [z.name for z in lay.zookeeper] + [b.name for b in lay.brokers] + [n.name for n in lay.clickhouse]
        ):
            stack.servers.kill(name, signal.SIGTERM)
            stack.servers.start(name)
            if name.startswith("kafka"):
                wait_in_sync(p.settings)
        up = time.monotonic()
        load.finish()
        resent = load.resend_unacknowledged()
        wait_processed(p, end_offsets(p), timeout=300)
    finally:
        load.stop()
    recovery_s = time.monotonic() - up
    record_outcome(
        "cluster: rolling restart of every server",
        len(load.acked_ids),
        settle_and_check(p, county, load.acks),
        recovery_s,
        "last restart until caught up",
        f"{len(lay.zookeeper) + len(lay.brokers) + len(lay.clickhouse)} servers restarted one at a time in "
        f"{up - began:.0f} s; answers {dict(load.answers)}; {resent} events resent",
    )
