"""The replica wait's rule (services/common/replica_sync.py), without a cluster;
the cluster fault tests (tests/integration/test_cluster_faults.py) run it for real."""

from __future__ import annotations

from typing import Any

import pytest

from services.common.config import CommonSettings
from services.common.replica_sync import (
    FETCHES_SQL,
    REPLICAS_SQL,
    SERVERS_SQL,
    Mark,
    ReplicasBehind,
    ReplicaState,
    ReplicaSync,
    caught_up,
)


def state(pointer: int, max_index: int = 0, readonly: bool = False) -> ReplicaState:
    return ReplicaState("events_local", readonly, pointer, max_index)


def test_caught_up_needs_the_log_copied_past_the_mark() -> None:
    goal = Mark(log_max_index=41, at=1000)
    assert not caught_up(state(41), goal, 0)
    assert caught_up(state(42), goal, 0)
    assert caught_up(state(50), goal, 0)


def test_caught_up_needs_every_part_logged_by_then_fetched() -> None:
    assert not caught_up(state(42), Mark(41, 1000), 1)


def test_a_readonly_replica_is_never_caught_up() -> None:
    assert not caught_up(state(42, readonly=True), Mark(41, 1000), 0)


def test_an_empty_log_has_nothing_to_copy() -> None:
    assert caught_up(state(0), Mark(0, 1000), 0)


class FakeServer:
    """Answers the three queries from a script: each poll of system.replicas
    moves the replica one step on."""

    def __init__(self, pointers: list[int], due: list[int], down: bool = False) -> None:
        self.pointers, self.due, self.down = pointers, due, down
        self.polls = 0

    def execute(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        if self.down:
            raise ConnectionError("refused")
        if sql == "SELECT 1":
            return [(1,)]
        if sql == REPLICAS_SQL:
            pointer = self.pointers[min(self.polls, len(self.pointers) - 1)]
            self.polls += 1
            return [("events_local", 0, pointer, 9, 1000)]
        assert sql == FETCHES_SQL and params["until"] == 1001
        n = self.due[min(self.polls - 2, len(self.due) - 1)]
        return [("events_local", n)] if n else []


class Discovery:
    def __init__(self, servers: list[tuple[str, int]]) -> None:
        self.servers = servers

    def execute(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        assert sql == SERVERS_SQL and params == {"cluster": "ribao"}
        return self.servers


def sync(
    monkeypatch: pytest.MonkeyPatch, servers: dict[tuple[str, int], FakeServer], timeout_s: float
) -> ReplicaSync:
    settings = CommonSettings(clickhouse_cluster="ribao")
    monkeypatch.setattr("services.common.replica_sync.client", lambda *_a, **_k: Discovery(list(servers)))
    return ReplicaSync(settings, timeout_s=timeout_s, poll_s=0, connect=lambda _s, server: servers[server])


def test_wait_returns_once_every_reachable_replica_caught_up(monkeypatch: pytest.MonkeyPatch) -> None:
    lagging = FakeServer(pointers=[5, 8, 10, 10, 10], due=[2, 1, 0])
    servers = {("127.0.0.1", 9001): lagging, ("127.0.0.1", 9002): FakeServer([10], [0], down=True)}
    sync(monkeypatch, servers, timeout_s=5).wait(["events"])
    assert lagging.polls >= 4  # it waited for the pointer, then for the fetches


def test_wait_gives_up_on_a_replica_that_cannot_fetch(monkeypatch: pytest.MonkeyPatch) -> None:
    stuck = FakeServer(pointers=[10], due=[1])
    with pytest.raises(ReplicasBehind, match=r"127\.0\.0\.1:9001"):
        sync(monkeypatch, {("127.0.0.1", 9001): stuck}, timeout_s=0.05).wait(["events"])


def test_one_server_never_waits() -> None:
    ReplicaSync(CommonSettings(), connect=lambda *_: pytest.fail("no query on one server")).wait(["events"])


def test_reads_run_again_when_a_server_left_out_of_the_wait_answers_after_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    restarting = FakeServer(pointers=[5, 10], due=[0], down=True)
    servers = {("127.0.0.1", 9001): FakeServer([10], [0]), ("127.0.0.1", 9002): restarting}
    runs: list[int] = []

    def reads() -> int:
        runs.append(restarting.polls)
        restarting.down = False  # it came back while the reads ran: they may have gone to it
        return len(runs)

    assert sync(monkeypatch, servers, timeout_s=5).read(["events"], reads) == 2
    # the second time it was in the wait, and caught up before the reads
    assert runs[0] == 0 and runs[1] >= 2


def test_reads_run_once_when_every_server_answered_the_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    servers = {("127.0.0.1", 9001): FakeServer([10], [0]), ("127.0.0.1", 9002): FakeServer([10], [0])}
    runs: list[int] = []
    sync(monkeypatch, servers, timeout_s=5).read(["events"], lambda: runs.append(1))
    assert runs == [1]


def test_reads_run_once_when_a_server_left_out_stays_down(monkeypatch: pytest.MonkeyPatch) -> None:
    down = FakeServer([10], [0], down=True)
    servers = {("127.0.0.1", 9001): FakeServer([10], [0]), ("127.0.0.1", 9002): down}
    runs: list[int] = []
    sync(monkeypatch, servers, timeout_s=5).read(["events"], lambda: runs.append(1))
    assert runs == [1]
