"""Renders the cluster's server configs from deploy/cluster/templates/ for
one server of a layout (string.Template: `$name` is filled in; a name the
template uses and the renderer does not give is an error)."""

from __future__ import annotations

from pathlib import Path
from string import Template

from services.cluster.layout import Broker, ClickHouseNode, Layout, ZooKeeperNode
from services.common.config import REPO_DIR

TEMPLATES = REPO_DIR / "deploy" / "cluster" / "templates"


def _fill(template: str, **values: object) -> str:
    text = (TEMPLATES / template).read_text("utf-8")
    return Template(text).substitute({k: str(v) for k, v in values.items()})


def kafka(layout: Layout, broker: Broker, data: Path, threads: int = 2) -> str:
    voters = ",".join(f"{b.node_id}@{b.host}:{b.controller_port}" for b in layout.brokers)
    return _fill(
        "kafka.properties.in",
        node_id=broker.node_id,
        voters=voters,
        host=broker.host,
        port=broker.port,
        controller_port=broker.controller_port,
        data=data,
        replication=layout.replication,
        min_insync=layout.min_insync,
        threads=threads,
    )


def zookeeper(layout: Layout, node: ZooKeeperNode, data: Path) -> str:
    servers = ""
    if len(layout.zookeeper) > 1:
        servers = "\n".join(
            f"server.{z.server_id}={z.host}:{z.peer_port}:{z.election_port}" for z in layout.zookeeper
        )
    return _fill("zoo.cfg.in", data=data, host=node.host, port=node.port, servers=servers)


def clickhouse(layout: Layout, node: ClickHouseNode, data: Path, cache_bytes: int = 128 << 20) -> str:
    shards = "\n".join(
        "            <shard>\n                <internal_replication>true</internal_replication>\n"
        + "".join(
            f"                <replica><host>{n.host}</host><port>{n.tcp_port}</port></replica>\n"
            for n in layout.shard_nodes(shard)
        )
        + "            </shard>"
        for shard in layout.shards
    )
    zk = "\n".join(
        f"        <node><host>{z.host}</host><port>{z.port}</port></node>" for z in layout.zookeeper
    )
    return _fill(
        "clickhouse.xml.in",
        name=node.name,
        shard=node.shard,
        replica=node.name,
        host=node.host,
        tcp_port=node.tcp_port,
        http_port=node.http_port,
        interserver_port=node.interserver_port,
        cache_bytes=cache_bytes,
        data=data,
        cluster=layout.cluster,
        shards=shards,
        zookeeper=zk,
    )


def clickhouse_users(layout: Layout, max_memory_bytes: int = 2_000_000_000) -> str:
    hosts = sorted({n.host for n in layout.clickhouse} | {"127.0.0.1"})
    networks = "\n".join(f"                <ip>{h}</ip>" for h in hosts)
    return _fill("users.xml.in", networks=networks, max_memory_bytes=max_memory_bytes)
