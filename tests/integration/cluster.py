"""The local cluster for tests (test_cluster_*.py): its servers started when
they are not up (and stopped again at the end), a pipeline of its own on
them (database, topics, consumer group), servers killed and started by name.

Brought up with `deploy/cluster.sh up --infra` beforehand, the servers stay
up after the tests. Starting them needs Java, Maven's cache or Central, and
Debian's clickhouse-server: in CI (CI=true) a test fails when they cannot
start, it never skips.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from services.children import free_port
from services.cluster import control, processes
from services.cluster.layout import Layout
from services.common.clickhouse import client
from services.common.setup import setup
from services.common.topics import delete_topic
from tests.integration.faults import write_registry
from tests.integration.harness import Pipeline, new_pipeline


def _say(msg: str) -> None:
    print(msg)


@dataclass
class ClusterServers:
    layout: Layout
    #: whether these tests started them (then they stop them)
    started: bool
    procs: dict[str, processes.Proc] = field(default_factory=dict)

    def kill(self, name: str, sig: signal.Signals = signal.SIGKILL) -> None:
        processes.stop(name, _say, sig)

    def start(self, name: str, seconds: float = 180) -> float:
        """Starts a server again; returns the seconds until it was ready."""
        began = time.monotonic()
        processes.start_all([self.procs[name]], _say, seconds)
        return time.monotonic() - began

    def pid(self, name: str) -> int | None:
        return processes.pid(name)


def servers() -> Iterator[ClusterServers]:
    """The cluster's servers, started here when they are not all up."""
    lay = processes.layout()
    started = False
    if not control.servers_up(lay):
        try:
            control.start_servers(_say)
        except (processes.ClusterError, OSError) as exc:
            msg = f"the local cluster could not start: {exc}"
            if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
                pytest.fail(msg)
            pytest.skip(msg)
        started = True
    found = ClusterServers(lay, started, {p.name: p for p in processes.servers(lay, _say)})
    try:
        yield found
    finally:
        if started:
            control.down(_say)


def cluster_pipeline(work: Path, lay: Layout, registry_prefixes: tuple[str, ...], **env: str) -> Pipeline:
    """A pipeline on the cluster (a database and topics of its own, set up);
    its services are started by the test."""
    work.mkdir(parents=True, exist_ok=True)
    registry = write_registry(work / "registry", registry_prefixes)
    p = new_pipeline(work, **lay.service_env(0), RIBAO_REGISTRY_DIR=str(registry), **env)
    setup(p.settings, report=lambda _msg: None)
    p.token = p.credential("cluster-admin", "admin", "all")
    return p


def start_services(p: Pipeline, lay: Layout, each: int = 2) -> dict[str, str]:
    """`each` processes of every service, process i talking to ClickHouse
    server i first; returns the URL of each ingest and API process."""
    urls = {}
    for i in range(each):
        ch = lay.service_env(i)
        port = str(free_port())
        p.start(
            f"ingest-{i + 1}", f"http://127.0.0.1:{port}/readyz", 120, "ingest", RIBAO_INGEST_PORT=port, **ch
        )
        urls[f"ingest-{i + 1}"] = f"http://127.0.0.1:{port}"
    for i in range(each):
        env = lay.service_env(i + 1) | {
            "RIBAO_AGGREGATOR_METRICS_PORT": str(free_port()),
            "RIBAO_AGGREGATOR_DATA_DIR": str(p.workdir / f"aggregator-{i + 1}"),
        }
        p.start(f"aggregator-{i + 1}", None, 90, "aggregator", **env)
    for i in range(each):
        port = str(free_port())
        p.start(f"api-{i + 1}", f"http://127.0.0.1:{port}/readyz", 120, "api", RIBAO_API_PORT=port,
                **lay.service_env(i + 2))  # fmt: skip
        urls[f"api-{i + 1}"] = f"http://127.0.0.1:{port}"
    return urls


def remove(p: Pipeline) -> None:
    """Stops the pipeline's services; drops its database and topics (kept
    with RIBAO_TEST_KEEP=1, to look into a failure)."""
    p.stop_all()
    if os.environ.get("RIBAO_TEST_KEEP") == "1":
        print(f"kept database {p.settings.clickhouse_database} and topic {p.settings.events_topic}")
        return
    ch = client(p.settings, database="default")
    ch.execute(
        f"DROP DATABASE IF EXISTS {p.settings.clickhouse_database} ON CLUSTER {p.settings.clickhouse_cluster}"
    )
    delete_topic(
        p.settings, p.settings.events_topic, p.settings.dead_letter_topic_name, p.settings.subjects_topic_name
    )
