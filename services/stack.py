"""The local stack: Kafka and ClickHouse through deploy/'s scripts, and the
three services as background processes with pid files and logs under
$RIBAO_HOME (default .stack/)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from services.common.config import REPO_DIR

DEPLOY_DIR = REPO_DIR / "deploy"
Report = Callable[[str], None]


class StackError(Exception):
    pass


def home() -> Path:
    return Path(os.environ.get("RIBAO_HOME", REPO_DIR / ".stack"))


@dataclass(frozen=True)
class Service:
    name: str
    command: tuple[str, ...]
    #: readiness URL (ingest, api)
    ready_url: str | None = None
    #: Kafka consumer group that must hold the events topic's partitions (aggregator)
    ready_group: tuple[str, str, str] | None = None  # (bootstrap, group, topic)


def services(ingest_port: int, api_port: int, bootstrap: str, group: str, topic: str) -> list[Service]:
    cli = (sys.executable, "-m", "services.cli")
    return [
        Service("ingest", (*cli, "ingest"), ready_url=f"http://127.0.0.1:{ingest_port}/readyz"),
        Service("aggregator", (*cli, "aggregator"), ready_group=(bootstrap, group, topic)),
        Service("api", (*cli, "api"), ready_url=f"http://127.0.0.1:{api_port}/readyz"),
    ]


def prometheus_service(ingest_port: int, api_port: int, aggregator_port: int, listen_port: int) -> Service:
    """Debian's prometheus scraping the three services (deploy/prometheus/), its
    config and data under $RIBAO_HOME/prometheus/."""
    from services.prometheus import Targets, command, render

    folder = home() / "prometheus"
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "prometheus.yml"
    config.write_text(
        render(Targets(f"127.0.0.1:{ingest_port}", f"127.0.0.1:{api_port}", f"127.0.0.1:{aggregator_port}")),
        "utf-8",
    )
    listen = f"127.0.0.1:{listen_port}"
    return Service(
        "prometheus", tuple(command(config, folder / "data", listen)), ready_url=f"http://{listen}/-/ready"
    )


def _group_holds_topic(bootstrap: str, group: str, topic: str) -> bool:
    """Whether the consumer group is stable with the topic's partitions assigned."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="ribao-stack")
    except KafkaError:
        return False
    try:
        info = admin.describe_groups([group]).get(group, {})
    except KafkaError:
        return False
    finally:
        admin.close()
    if info.get("group_state") != "Stable":
        return False
    return any(
        part.get("topic") == topic and part.get("partitions")
        for member in info.get("members", [])
        for part in (member.get("member_assignment") or {}).get("assigned_partitions", [])
    )


def infra(action: str, component: str) -> None:
    """Runs deploy/<component>.sh <action> (kafka or clickhouse)."""
    script = DEPLOY_DIR / f"{component}.sh"
    result = subprocess.run(["bash", str(script), action], check=False)
    if result.returncode not in (0, 3) or (result.returncode == 3 and action != "status"):
        raise StackError(f"{script.name} {action} failed (exit {result.returncode})")


def _pidfile(name: str) -> Path:
    return home() / "run" / f"{name}.pid"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_pid(name: str) -> int | None:
    path = _pidfile(name)
    if not path.exists():
        return None
    pid = int(path.read_text().strip() or 0)
    return pid if pid > 0 and _alive(pid) else None


def _wait_ready(url: str, seconds: float, name: str, pid: int) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            raise StackError(f"{name} exited during start-up; see {home() / 'logs' / name}.log")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise StackError(f"{name} not ready at {url} after {seconds:.0f}s; see {home() / 'logs' / name}.log")


def _wait_group(target: tuple[str, str, str], seconds: float, name: str, pid: int) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            raise StackError(f"{name} exited during start-up; see {home() / 'logs' / name}.log")
        if _group_holds_topic(*target):
            return
        time.sleep(0.5)
    raise StackError(f"{name} did not join consumer group {target[1]} after {seconds:.0f}s")


def start_service(svc: Service, env: dict[str, str], report: Report) -> int:
    pid = running_pid(svc.name)
    if pid is not None:
        report(f"{svc.name}: already running (pid {pid})")
        return pid
    (home() / "run").mkdir(parents=True, exist_ok=True)
    (home() / "logs").mkdir(parents=True, exist_ok=True)
    log = open(home() / "logs" / f"{svc.name}.log", "ab")  # noqa: SIM115 (handed to the child)
    proc = subprocess.Popen(
        svc.command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO_DIR, start_new_session=True
    )
    _pidfile(svc.name).write_text(str(proc.pid))
    if svc.ready_url:
        _wait_ready(svc.ready_url, 120, svc.name, proc.pid)
    if svc.ready_group:
        _wait_group(svc.ready_group, 120, svc.name, proc.pid)
    report(f"{svc.name}: running (pid {proc.pid}), log {home() / 'logs' / svc.name}.log")
    return proc.pid


def stop_service(name: str, report: Report, timeout: float = 20) -> None:
    pid = running_pid(name)
    if pid is None:
        report(f"{name}: not running")
        _pidfile(name).unlink(missing_ok=True)
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _alive(pid):
        report(f"{name}: still up after {timeout:.0f}s, SIGKILL")
        os.kill(pid, signal.SIGKILL)
    _pidfile(name).unlink(missing_ok=True)
    report(f"{name}: stopped")
