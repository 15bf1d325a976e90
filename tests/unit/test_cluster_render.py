"""The cluster's server configs rendered from deploy/cluster/templates/."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from services.cluster import render
from services.cluster.layout import Layout


def test_local_layout_keeps_off_the_single_node_ports() -> None:
    lay = Layout.local(base=19000)
    ports = [b.port for b in lay.brokers] + [b.controller_port for b in lay.brokers]
    ports += [p for n in lay.clickhouse for p in (n.tcp_port, n.http_port, n.interserver_port)]
    ports += [z.port for z in lay.zookeeper] + [*lay.services.ingest, *lay.services.api]
    assert len(ports) == len(set(ports))
    assert not set(ports) & {9092, 9093, 9000, 8123, 9009, 2181, 8080, 8081, 8082}
    assert [(n.name, n.shard) for n in lay.clickhouse] == [("ch1", 1), ("ch2", 1), ("ch3", 2), ("ch4", 2)]


def test_each_process_starts_on_a_first_replica_and_can_fail_over_to_every_other() -> None:
    lay = Layout.local()
    for i in range(4):
        first, rest = lay.clickhouse_for(i)
        assert first.name in ("ch1", "ch3")
        assert sorted(n.name for n in [first, *rest]) == ["ch1", "ch2", "ch3", "ch4"]
        env = lay.service_env(i)
        assert env["RIBAO_CLICKHOUSE_ALT_HOSTS"].count(",") == 2
        assert env["RIBAO_KAFKA_BOOTSTRAP"].count(",") == 2


def test_kafka_config_replicates_every_record_three_times(tmp_path: Path) -> None:
    lay = Layout.local()
    text = render.kafka(lay, lay.brokers[1], tmp_path)
    lines = dict(ln.split("=", 1) for ln in text.splitlines() if ln and not ln.startswith("#"))
    assert lines["node.id"] == "2"
    assert lines["controller.quorum.voters"] == "1@127.0.0.1:19013,2@127.0.0.1:19023,3@127.0.0.1:19033"
    assert lines["default.replication.factor"] == "3"
    assert lines["min.insync.replicas"] == "2"
    assert lines["unclean.leader.election.enable"] == "false"
    assert lines["offsets.topic.replication.factor"] == "3"
    assert "$" not in text


def test_clickhouse_config_names_two_shards_of_two_replicas(tmp_path: Path) -> None:
    lay = Layout.local()
    root = ET.fromstring(render.clickhouse(lay, lay.clickhouse[2], tmp_path))
    shards = root.findall("remote_servers/ribao/shard")
    assert [[r.findtext("port") for r in s.findall("replica")] for s in shards] == [
        ["19210", "19220"],
        ["19230", "19240"],
    ]
    assert all(s.findtext("internal_replication") == "true" for s in shards)
    assert root.findtext("macros/shard") == "2" and root.findtext("macros/replica") == "ch3"
    assert root.findtext("zookeeper/node/port") == "19100"
    assert root.findtext("tcp_port") == "19230" and root.findtext("interserver_http_port") == "19232"
    users = ET.fromstring(render.clickhouse_users(lay))
    assert [ip.text for ip in users.findall("users/default/networks/ip")] == ["127.0.0.1"]


def test_zookeeper_config_standalone_or_ensemble(tmp_path: Path) -> None:
    lay = Layout.local()
    text = render.zookeeper(lay, lay.zookeeper[0], tmp_path)
    assert "clientPort=19100" in text and "\nserver." not in text and "$" not in text
