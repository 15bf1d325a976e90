"""Read-your-writes on the local cluster (services/common/replica_sync.py): a
server that did not answer during the replica wait and answers by the time
of the reads may serve them from its old copy; `ReplicaSync.read` reads
again after a wait that includes it.

The stale server is made by hand: its fetches stopped (`SYSTEM STOP
FETCHES`), a row written to the other replica of its shard, the server
paused (SIGSTOP) so that the wait leaves it out, and resumed inside the
reads, which go through it (a server reads its own shard from its own
replica). Its fetches start again only after the first read: that read is
stale, and what `read` returns must not be.
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator

import pytest

from services.common.clickhouse import client
from services.common.replica_sync import ReplicaSync
from tests.integration import cluster
from tests.integration.harness import Pipeline


@pytest.fixture(scope="module")
def pipeline(
    cluster_servers: cluster.ClusterServers, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    p = cluster.cluster_pipeline(tmp_path_factory.mktemp("replica-sync"), cluster_servers.layout, ("3417",))
    try:
        yield p
    finally:
        cluster.remove(p)


def test_reads_are_not_served_by_a_server_that_came_back_during_them(
    pipeline: Pipeline, cluster_servers: cluster.ClusterServers
) -> None:
    lay = cluster_servers.layout
    stale, fresh = lay.shard_nodes(1)[:2]
    db = pipeline.settings.clickhouse_database
    on = {
        n.name: pipeline.settings.model_copy(
            update={"clickhouse_host": n.host, "clickhouse_port": n.tcp_port, "clickhouse_alt_hosts": ""}
        )
        for n in (stale, fresh)
    }
    event_id = str(uuid.uuid4())
    pid = cluster_servers.pid(stale.name)
    assert pid is not None, f"{stale.name} is not running"
    client(on[stale.name]).execute(f"SYSTEM STOP FETCHES {db}.events_local")
    paused = False
    try:
        client(on[fresh.name]).execute(
            "INSERT INTO events_local (event_id, recorded_us, content_hash, type, jurisdiction) VALUES",
            [(event_id, 1, "h", "screening.recorded", "341702001001")],
        )
        os.kill(pid, signal.SIGSTOP)
        paused = True
        through_stale = client(on[stale.name])
        seen: list[int] = []

        def reads() -> int:
            nonlocal paused
            os.kill(pid, signal.SIGCONT)
            paused = False
            ((n,),) = through_stale.execute(
                "SELECT count() FROM events WHERE event_id = %(e)s", {"e": event_id}
            )
            if not seen:  # the first read came from the old copy; now let it fetch
                client(on[stale.name]).execute(f"SYSTEM START FETCHES {db}.events_local")
            seen.append(int(n))
            return int(n)

        # the wait's discovery goes through the fresh server (the stale one is paused)
        found = ReplicaSync(on[fresh.name], timeout_s=60).read(("events",), reads)
    finally:
        if paused:
            os.kill(pid, signal.SIGCONT)
        client(on[stale.name]).execute(f"SYSTEM START FETCHES {db}.events_local")
    assert seen[0] == 0, "the first read was meant to come from the stale copy: the setup did not hold"
    assert found == 1, seen
