"""Read-your-writes on a replicated ClickHouse cluster (issue #15).

An insert into a `Replicated*MergeTree` table is acknowledged once ONE
replica has the part and has logged it in ZooKeeper; the shard's other
replica fetches it afterwards. A `Distributed` read may go to either replica
(the first live one, with the fewest errors: after a restart that is often
the other one), so a read right after a write, or after a replica died, can
miss rows that were acknowledged. The aggregator's reads must not: stage 1's
version check and retraction targets, and stage 2's facts and snapshots,
decide what gets counted (a snapshot read stale makes a second delta for a
step already counted).

`ReplicaSync.wait(tables)` closes that window. Before such a read it asks
every server of the cluster it can reach for the state of those tables'
replicas and waits until each one has

- copied every entry of the replication log that existed when the wait
  began into its queue (`log_pointer > log_max_index` as first seen), and
- fetched every part logged up to then (no `GET_PART` entry in its queue
  created at or before the wait began, with a second of slack for clocks),
- with its ZooKeeper session up (`is_readonly = 0`).

A server that does not answer is left out of the wait, but it may come back
before the reads that follow and serve them from its old copy (with
`load_balancing = in_order` the Distributed table turns to a restarted
server as soon as its error count has decayed below its partner's; a
rolling restart of the cluster once counted an event twice that way, CI of
stop 28). So `read(tables, reads)` runs the reads after the wait and asks
the servers left out again afterwards: if one answers now, the reads may
have gone to it, and the wait and the reads are done once more (that server
is in the wait this time). A server in the wait was caught up, and a restart
does not take parts away from it. A
replica that cannot fetch a part because the only copy is on a dead server
keeps the wait going: the aggregator then stops (its offsets wait, Kafka
holds the events) until that server is back and the part has been copied,
instead of counting from a stale copy. After `timeout_s` the wait raises
`ReplicasBehind`, and the caller's retry loop begins again.

On one server (`RIBAO_CLICKHOUSE_CLUSTER` empty) `wait` does nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from clickhouse_driver import Client

from services.common.clickhouse import client
from services.common.cluster_ddl import LOCAL
from services.common.config import CommonSettings

log = logging.getLogger(__name__)

T = TypeVar("T")

SERVERS_SQL = "SELECT DISTINCT host_address, port FROM system.clusters WHERE cluster = %(cluster)s"
REPLICAS_SQL = """
SELECT table, is_readonly, log_pointer, log_max_index, toUInt32(now())
FROM system.replicas WHERE database = currentDatabase() AND (%(every)s OR table IN %(tables)s)"""
FETCHES_SQL = """
SELECT table, count() FROM system.replication_queue
WHERE database = currentDatabase() AND (%(every)s OR table IN %(tables)s) AND type = 'GET_PART'
  AND toUInt32(create_time) <= %(until)s
GROUP BY table"""
#: a table name no replica has: `IN` needs one value at least
_NONE = "-"
#: seconds added to a server's clock when comparing with the time a part was
#: logged (by another server's clock): waiting a little longer is harmless
CLOCK_SLACK_S = 1


class ReplicasBehind(Exception):
    """A reachable replica did not catch up within the timeout."""


@dataclass(frozen=True)
class ReplicaState:
    """One table's replica on one server, as `system.replicas` shows it."""

    table: str
    readonly: bool
    log_pointer: int
    log_max_index: int


@dataclass(frozen=True)
class Mark:
    """What a replica must reach: the log's last index when the wait began,
    and that moment on the server's clock."""

    log_max_index: int
    at: int


def mark(state: ReplicaState, now: int) -> Mark:
    return Mark(state.log_max_index, now)


def caught_up(state: ReplicaState, goal: Mark, fetches_due: int) -> bool:
    """Whether a replica has everything logged up to `goal`: the log copied
    past its last index then (an empty log shows index 0 and pointer 0:
    nothing to copy) and no part logged by then still to fetch."""
    if state.readonly:
        return False
    log_copied = state.log_pointer > goal.log_max_index or (
        goal.log_max_index == 0 and state.log_pointer == 0
    )
    return log_copied and fetches_due == 0


Server = tuple[str, int]


class ReplicaSync:
    def __init__(
        self,
        settings: CommonSettings,
        timeout_s: float = 30.0,
        poll_s: float = 0.02,
        connect: Callable[[CommonSettings, Server], Client] | None = None,
    ) -> None:
        self._settings = settings
        self._timeout_s = timeout_s
        self._poll_s = poll_s
        self._connect = connect or _server_client
        self._servers: list[Server] = []
        self._found_at = 0.0
        self._clients: dict[Server, Client] = {}

    @property
    def active(self) -> bool:
        return bool(self._settings.clickhouse_cluster)

    def _server_list(self) -> list[Server]:
        """The cluster's servers (`system.clusters`), looked up again every minute."""
        if not self._servers or time.monotonic() - self._found_at > 60:
            rows = client(self._settings, timeout_s=10).execute(
                SERVERS_SQL, {"cluster": self._settings.clickhouse_cluster}
            )
            self._servers = sorted((str(h), int(p)) for h, p in rows)
            self._found_at = time.monotonic()
        return self._servers

    def _ask(self, server: Server, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]] | None:
        """A query to one server; None when it does not answer (it serves no read then)."""
        try:
            ch = self._clients.get(server)
            if ch is None:
                ch = self._clients[server] = self._connect(self._settings, server)
            return list(ch.execute(sql, params))
        except Exception as exc:  # unreachable, restarting: that server is out of the reads too
            log.debug("replica sync: %s:%d did not answer (%s)", *server, exc)
            self._clients.pop(server, None)
            return None

    def _states(self, server: Server, tables: Sequence[str] | None) -> tuple[list[ReplicaState], int] | None:
        rows = self._ask(server, REPLICAS_SQL, _which(tables))
        if rows is None:
            return None
        states = [ReplicaState(str(t), bool(ro), int(lp), int(lm)) for t, ro, lp, lm, _ in rows]
        now = int(rows[0][4]) if rows else 0
        return states, now

    def wait(self, tables: Iterable[str] | None) -> None:
        """Returns once every reachable replica of `tables` (names as the
        services use them; None: every replicated table of the database)
        holds what was acknowledged before the call. Reads after it may still
        go to a server that did not answer during the wait and answers since:
        `read` closes that gap."""
        self._wait(tables)

    def read(self, tables: Iterable[str] | None, reads: Callable[[], T]) -> T:
        """`reads()` (queries of `tables`), run after the wait, and run again
        after another wait for as long as a server left out of the wait
        answers after them (the reads may have gone to its old copy)."""
        if not self.active:
            return reads()
        wanted = None if tables is None else list(tables)
        started = time.monotonic()
        while True:
            left_out = self._wait(wanted)
            result = reads()
            back = [s for s in left_out if self._ask(s, "SELECT 1", {}) is not None]
            if not back:
                return result
            log.info("replica sync: %s answered again during the reads; reading again", _names(back))
            if time.monotonic() - started > self._timeout_s:
                raise ReplicasBehind(f"servers {_names(back)} kept coming back during the reads")

    def _wait(self, tables: Iterable[str] | None) -> list[Server]:
        """The wait; returns the servers left out of it (they did not answer
        at its start, or stopped answering during it)."""
        if not self.active:
            return []
        local = None if tables is None else sorted(f"{t}{LOCAL}" for t in tables)
        started = time.monotonic()
        goals: dict[Server, dict[str, Mark]] = {}
        left_out: list[Server] = []
        for server in self._server_list():
            seen = self._states(server, local)
            if seen is None:
                left_out.append(server)
            else:
                states, now = seen
                goals[server] = {s.table: mark(s, now) for s in states}
        behind: list[str] = []
        while goals:
            behind = []
            for server, marks in list(goals.items()):
                answered = self._server_caught_up(server, marks)
                if answered is None:  # gone since: it serves no read now
                    del goals[server]
                    left_out.append(server)
                elif not answered:
                    behind.append(f"{server[0]}:{server[1]}")
            if not behind:
                return left_out
            if time.monotonic() - started > self._timeout_s:
                break
            time.sleep(self._poll_s)
        if behind:
            raise ReplicasBehind(
                f"replicas on {', '.join(behind)} have not fetched every part logged "
                f"{self._timeout_s:.0f} s ago (a server holding the only copy may be down)"
            )
        return left_out

    def _server_caught_up(self, server: Server, marks: dict[str, Mark]) -> bool | None:
        """Whether the server's replicas reached their marks; None when it does not answer."""
        seen = self._states(server, sorted(marks))
        if seen is None:
            return None
        states, _ = seen
        until = min(m.at for m in marks.values()) + CLOCK_SLACK_S if marks else 0
        fetch_rows = self._ask(server, FETCHES_SQL, {**_which(sorted(marks)), "until": until})
        if fetch_rows is None:
            return None
        due = {str(t): int(n) for t, n in fetch_rows}
        return all(caught_up(s, marks[s.table], due.get(s.table, 0)) for s in states if s.table in marks)


def _names(servers: Sequence[Server]) -> str:
    return ", ".join(f"{h}:{p}" for h, p in servers)


def _which(tables: Sequence[str] | None) -> dict[str, Any]:
    """The table filter's parameters: these tables, or (None) every one."""
    if tables is None:
        return {"every": 1, "tables": (_NONE,)}
    return {"every": 0, "tables": tuple(tables) or (_NONE,)}


def _server_client(settings: CommonSettings, server: Server) -> Client:
    one = settings.model_copy(
        update={"clickhouse_host": server[0], "clickhouse_port": server[1], "clickhouse_alt_hosts": ""}
    )
    return client(one, timeout_s=5)
