"""Memory of each service, from /proc: resident set sampled twice a second
(peak per stage) and the kernel's high-water mark (VmHWM) at the end."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from pathlib import Path


def _status_kib(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def _ppids() -> dict[int, int]:
    """Parent of every process on the machine, from /proc."""
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                out[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
    return out


def tree_pids(pid: int) -> list[int]:
    """`pid` and its live descendants (e.g. a service's worker processes)."""
    parents = _ppids()
    found, todo = [pid], [pid]
    while todo:
        parent = todo.pop()
        children = [p for p, pp in parents.items() if pp == parent]
        found.extend(children)
        todo.extend(children)
    return found


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds used so far by `pid` and its live descendants."""
    return sum(cpu_seconds(p) for p in tree_pids(pid))


def rss_mib(pid: int) -> float:
    return _status_kib(pid, "VmRSS") / 1024


def hwm_mib(pid: int) -> float:
    return _status_kib(pid, "VmHWM") / 1024


class MemorySampler:
    """Samples the RSS of the processes `pids()` names, every `interval` s; keeps
    the peak per (stage, process) and overall."""

    def __init__(self, pids: Callable[[], dict[str, int]], interval: float = 0.5) -> None:
        self._pids = pids
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)
        self.stage = "setup"
        self.peaks: dict[str, dict[str, float]] = {}
        #: CPU seconds each process (with its worker processes) used during each stage
        self.cpu: dict[str, dict[str, float]] = {}
        self._cpu_at: dict[str, float] = {}
        self.hwm: dict[str, float] = {}

    def enter(self, stage: str) -> None:
        """Closes the current stage (its CPU seconds) and starts the next."""
        self.sample()
        now = {name: tree_cpu_seconds(pid) for name, pid in self._pids().items()}
        used = {name: round(t - self._cpu_at.get(name, 0.0), 2) for name, t in now.items()}
        self.cpu[self.stage] = {k: v for k, v in used.items() if v > 0}
        self._cpu_at = now
        self.stage = stage

    def start(self) -> MemorySampler:
        self._cpu_at = {name: tree_cpu_seconds(pid) for name, pid in self._pids().items()}
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.sample()

    def sample(self) -> None:
        for name, pid in self._pids().items():
            mib = rss_mib(pid)
            stage = self.peaks.setdefault(self.stage, {})
            stage[name] = max(stage.get(name, 0.0), mib)
            self.hwm[name] = max(self.hwm.get(name, 0.0), hwm_mib(pid))

    def stop(self) -> None:
        self.enter("end")
        self._stop.set()
        self._thread.join(timeout=5)

    def overall(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for stage in self.peaks.values():
            for name, mib in stage.items():
                out[name] = max(out.get(name, 0.0), mib)
        return out
