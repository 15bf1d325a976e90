"""Where each server of a cluster runs: hosts and ports.

`Layout.local` puts every server on one host (tests and demos), each on its
own ports counted from a base port, away from the single-node stack's. The
templates (deploy/cluster/templates/) are rendered from a layout alone, so a
layout naming real hosts renders their configs the same way.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Broker:
    node_id: int
    host: str
    port: int
    controller_port: int

    @property
    def name(self) -> str:
        return f"kafka-{self.node_id}"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class ClickHouseNode:
    #: also its {replica} macro: unique in the cluster
    name: str
    host: str
    #: 1-based
    shard: int
    tcp_port: int
    http_port: int
    interserver_port: int

    @property
    def address(self) -> str:
        return f"{self.host}:{self.tcp_port}"


@dataclass(frozen=True)
class ZooKeeperNode:
    server_id: int
    host: str
    port: int
    peer_port: int
    election_port: int

    @property
    def name(self) -> str:
        return f"zookeeper-{self.server_id}"


@dataclass(frozen=True)
class ServicePorts:
    ingest: tuple[int, ...]
    api: tuple[int, ...]
    aggregator_metrics: tuple[int, ...]


@dataclass(frozen=True)
class Layout:
    cluster: str
    brokers: tuple[Broker, ...]
    clickhouse: tuple[ClickHouseNode, ...]
    zookeeper: tuple[ZooKeeperNode, ...]
    services: ServicePorts
    #: topic replicas, and how many must hold a record to acknowledge it
    replication: int = 3
    min_insync: int = 2

    @classmethod
    def local(
        cls, host: str = "127.0.0.1", base: int = 19000, brokers: int = 3, shards: int = 2, replicas: int = 2
    ) -> Layout:
        """Everything on `host`: brokers on base+10i+2 (controllers +3),
        ZooKeeper on base+100, ClickHouse node j on base+200+10j (TCP; HTTP +1,
        replication +2), ingest on base+301.., API on base+401.., the
        aggregators' metrics on base+501.."""
        nodes = []
        for shard in range(1, shards + 1):
            for replica in range(1, replicas + 1):
                j = (shard - 1) * replicas + replica
                port = base + 200 + 10 * j
                nodes.append(ClickHouseNode(f"ch{j}", host, shard, port, port + 1, port + 2))
        return cls(
            cluster="ribao",
            brokers=tuple(
                Broker(i, host, base + 10 * i + 2, base + 10 * i + 3) for i in range(1, brokers + 1)
            ),
            clickhouse=tuple(nodes),
            zookeeper=(ZooKeeperNode(1, host, base + 100, base + 101, base + 102),),
            services=ServicePorts(
                ingest=(base + 301, base + 302),
                api=(base + 401, base + 402),
                aggregator_metrics=(base + 501, base + 502),
            ),
            replication=min(3, brokers),
            min_insync=min(2, brokers),
        )

    @property
    def bootstrap(self) -> str:
        return ",".join(b.address for b in self.brokers)

    def shard_nodes(self, shard: int) -> list[ClickHouseNode]:
        return [n for n in self.clickhouse if n.shard == shard]

    @property
    def shards(self) -> list[int]:
        return sorted({n.shard for n in self.clickhouse})

    def clickhouse_for(self, i: int) -> tuple[ClickHouseNode, list[ClickHouseNode]]:
        """The server the i-th process of a service talks to first, and the
        others to fail over to: the first replica of each shard, then the rest.
        Reads and writes go to the first live replica of each shard (the
        cluster's settings), and an 18.16 server writes its own shard's rows
        to itself, so a process must start on a first replica to read back
        what it wrote."""
        firsts = [self.shard_nodes(s)[0] for s in self.shards]
        first = firsts[i % len(firsts)]
        rest = [n for n in firsts if n != first] + [n for n in self.clickhouse if n not in firsts]
        return first, rest

    def service_env(self, i: int) -> dict[str, str]:
        """The settings a service process needs to reach the cluster."""
        first, rest = self.clickhouse_for(i)
        return {
            "RIBAO_KAFKA_BOOTSTRAP": self.bootstrap,
            "RIBAO_KAFKA_REPLICATION": str(self.replication),
            "RIBAO_KAFKA_MIN_INSYNC": str(self.min_insync),
            "RIBAO_CLICKHOUSE_HOST": first.host,
            "RIBAO_CLICKHOUSE_PORT": str(first.tcp_port),
            "RIBAO_CLICKHOUSE_ALT_HOSTS": ",".join(n.address for n in rest),
            "RIBAO_CLICKHOUSE_CLUSTER": self.cluster,
        }
