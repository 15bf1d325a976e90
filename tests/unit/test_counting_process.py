"""The recount's child process: it answers, a dead child fails one call and
the next call gets a new one, and it never outlives the worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from services.aggregator.config import AggregatorSettings
from services.aggregator.counting_process import CountingProcess, CountingProcessDied
from services.aggregator.counting_runner import RecountStats


def _child_pids(proc: CountingProcess) -> list[int]:
    pool = proc._pool
    assert pool is not None
    return [p.pid for p in (pool._processes or {}).values() if p.pid is not None]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead too
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_a_recount_runs_in_a_child_and_a_dead_child_is_replaced() -> None:
    proc = CountingProcess(AggregatorSettings())
    try:
        # no subjects: the runner neither reads nor writes (no ClickHouse needed)
        assert proc.recount([]) == RecountStats(0, 0, 0)
        [first] = _child_pids(proc)
        assert first != os.getpid()
        os.kill(first, signal.SIGKILL)
        time.sleep(0.5)
        with pytest.raises(CountingProcessDied):
            proc.recount([])
        assert proc.recount([]) == RecountStats(0, 0, 0)
        [second] = _child_pids(proc)
        assert second != first
    finally:
        proc.close()


PARENT = """
import sys
from services.aggregator.config import AggregatorSettings
from services.aggregator.counting_process import CountingProcess
proc = CountingProcess(AggregatorSettings())
proc.recount([])
print(*[p.pid for p in proc._pool._processes.values()], flush=True)
sys.stdin.read()
"""


def test_the_child_dies_with_a_killed_worker() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert _alive(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 10
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child)
    finally:
        parent.kill()
