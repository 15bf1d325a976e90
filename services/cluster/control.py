"""Bringing the local cluster up and down (`ribao stack up --cluster`,
deploy/cluster.sh): the servers, the schema ON CLUSTER and the topics at
replication 3, then two processes of each service."""

from __future__ import annotations

import time
from typing import Any

from services.cluster import processes
from services.cluster.layout import Layout
from services.cluster.processes import ClusterError, Report
from services.common.config import CommonSettings


def settings(lay: Layout, i: int = 0, **more: Any) -> CommonSettings:
    """The settings of the i-th process of a service on this cluster."""
    values: dict[str, Any] = {k.removeprefix("RIBAO_").lower(): v for k, v in lay.service_env(i).items()}
    return CommonSettings(**(values | more))


def wait_group(bootstrap: str, group: str, topic: str, seconds: float = 120) -> None:
    from services.stack import _group_holds_topic

    deadline = time.monotonic() + seconds
    while not _group_holds_topic(bootstrap, group, topic):
        if time.monotonic() > deadline:
            raise ClusterError(f"consumer group {group} holds no partition of {topic} after {seconds:.0f}s")
        time.sleep(0.5)


def start_servers(report: Report) -> Layout:
    """ZooKeeper, then the brokers and ClickHouse servers side by side; each ready."""
    lay = processes.layout()
    servers = processes.servers(lay, report)
    # ZooKeeper first: a ClickHouse 18.16 server starting without it can crash
    zookeeper = [p for p in servers if p.name.startswith("zookeeper")]
    processes.start_all(zookeeper, report)
    processes.start_all([p for p in servers if p not in zookeeper], report)
    return lay


def up(report: Report, infra_only: bool = False) -> Layout:
    from services.common.setup import setup

    started = time.monotonic()
    lay = start_servers(report)
    common = settings(lay)
    setup(common, report)
    if not infra_only:
        procs = processes.services(lay)
        processes.start_all(procs, report)
        group = procs[-1].env.get("RIBAO_AGGREGATOR_ID", "ribao-aggregator")
        wait_group(lay.bootstrap, group, common.events_topic)
    report(f"cluster up in {time.monotonic() - started:.0f}s (home {processes.home()})")
    return lay


def servers_up(lay: Layout) -> bool:
    """Whether every server of the layout answers."""
    return (
        all(processes.port_open(n.host, n.tcp_port) for n in lay.clickhouse)
        and all(processes.port_open(b.host, b.port) for b in lay.brokers)
        and all(processes.zookeeper_ok(z.host, z.port) for z in lay.zookeeper)
    )


def names(lay: Layout) -> list[str]:
    """Every process, services first (the order to stop them in)."""
    return [p.name for p in processes.services(lay)] + [
        *(n.name for n in lay.clickhouse),
        *(b.name for b in lay.brokers),
        *(z.name for z in lay.zookeeper),
    ]


def down(report: Report) -> None:
    """Stops the services, then the servers of each kind side by side (a
    broker's controlled shutdown needs the other controllers up)."""
    lay = processes.layout()
    processes.stop_all([p.name for p in processes.services(lay)], report)
    processes.stop_all([n.name for n in lay.clickhouse], report)
    processes.stop_all([b.name for b in lay.brokers], report)
    processes.stop_all([z.name for z in lay.zookeeper], report)


def status() -> list[tuple[str, int | None, int]]:
    """(name, pid or None, RSS in KiB) of every process."""
    return [(n, processes.pid(n), processes.rss_kib(n)) for n in names(processes.layout())]
