"""The local cluster's processes: each server and service started, stopped or
killed by name, with its pid file, config and log under $RIBAO_CLUSTER_HOME
(default .cluster/), never the single-node stack's $RIBAO_HOME.

Names: zookeeper-1, kafka-1..3, ch1..ch4, then ingest-1, ingest-2,
aggregator-1, aggregator-2, api-1, api-2.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from services.cluster import render
from services.cluster.layout import Layout
from services.common.config import REPO_DIR

DEPLOY_DIR = REPO_DIR / "deploy"
Report = Callable[[str], None]
#: the JVMs' heaps: what a test run on this machine can give them
KAFKA_HEAP = os.environ.get("RIBAO_CLUSTER_KAFKA_HEAP", "384m")
ZOOKEEPER_HEAP = os.environ.get("RIBAO_CLUSTER_ZOOKEEPER_HEAP", "128m")


class ClusterError(Exception):
    pass


def home() -> Path:
    return Path(os.environ.get("RIBAO_CLUSTER_HOME", REPO_DIR / ".cluster"))


def layout() -> Layout:
    """The local layout; RIBAO_CLUSTER_PORT_BASE moves every port."""
    raw = os.environ.get("RIBAO_CLUSTER_PORT_BASE", "19000")
    try:
        base = int(raw)
    except ValueError:
        raise ClusterError(f"RIBAO_CLUSTER_PORT_BASE={raw!r} is not a port number") from None
    if not 1024 <= base <= 64_000:
        raise ClusterError(f"RIBAO_CLUSTER_PORT_BASE={base}: must be within 1024..64000")
    return Layout.local(base=base)


@dataclass(frozen=True)
class Proc:
    name: str
    command: tuple[str, ...]
    env: dict[str, str]
    cwd: Path
    #: (host, port) accepting connections once it is up
    port: tuple[str, int] | None = None
    #: a URL answering 200 once it is ready
    ready_url: str | None = None
    #: ZooKeeper: ready once it serves requests (its port opens earlier)
    ruok: bool = False


def _pidfile(name: str) -> Path:
    return home() / "run" / f"{name}.pid"


def _log(name: str) -> Path:
    return home() / "logs" / f"{name}.log"


def _alive(pid: int) -> bool:
    """Whether the process runs. A child of this process that exited is reaped
    here (a zombie's /proc state is no guide: a JVM's main thread shows Z while
    its other threads still run and hold its ports)."""
    try:
        done, _status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:  # not our child: its parent reaps it
        done = 0
    if done == pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pid(name: str) -> int | None:
    path = _pidfile(name)
    if not path.exists():
        return None
    found = int(path.read_text().strip() or 0)
    return found if found > 0 and _alive(found) else None


def zookeeper_ok(host: str, port: int) -> bool:
    """Whether ZooKeeper serves requests (its four-letter `srvr` names its
    mode; `ruok` answers before the server has loaded its data)."""
    try:
        with socket.create_connection((host, port), timeout=2) as conn:
            conn.sendall(b"srvr")
            return b"Mode: " in conn.recv(4096)
    except OSError:
        return False


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


# -- the servers ------------------------------------------------------------------------------------


def _java(heap: str, classpath: str, main: str, *args: str, props: dict[str, str]) -> tuple[str, ...]:
    java = shutil.which("java")
    if java is None:
        raise ClusterError("java not found: run deploy/bootstrap.sh (it installs openjdk-17-jre-headless)")
    defines = tuple(f"-D{k}={v}" for k, v in props.items())
    return (java, f"-Xmx{heap}", "-Xms64m", "-XX:+UseG1GC", "-Djava.awt.headless=true", *defines,
            "-cp", classpath, main, *args)  # fmt: skip


def _fetch_kafka(report: Report) -> Path:
    libs = home() / "kafka" / "libs"
    if not libs.is_dir():
        report("kafka: fetching the broker's jars (deploy/kafka.sh fetch, from the Maven cache or Central)")
        result = subprocess.run(
            ["bash", str(DEPLOY_DIR / "kafka.sh"), "fetch"],
            env=os.environ | {"RIBAO_HOME": str(home())},
            check=False,
        )
        if result.returncode != 0:
            raise ClusterError("deploy/kafka.sh fetch failed")
    return libs


def _fetch_zookeeper(report: Report) -> Path:
    libs = home() / "zookeeper" / "libs"
    if not any(libs.glob("zookeeper-*.jar")):
        if shutil.which("mvn") is None:
            raise ClusterError("mvn not found: run deploy/bootstrap.sh (it installs maven)")
        report("zookeeper: fetching its jars from Maven Central (deploy/cluster/zookeeper-pom.xml)")
        tmp = libs.with_suffix(".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        result = subprocess.run(
            ["mvn", "-q", "-B", "-f", str(DEPLOY_DIR / "cluster" / "zookeeper-pom.xml"),
             "dependency:copy-dependencies", "-DincludeScope=runtime", f"-DoutputDirectory={tmp}"],
            check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise ClusterError("fetching ZooKeeper with mvn failed")
        shutil.rmtree(libs, ignore_errors=True)
        tmp.rename(libs)
    return libs


def _kafka_cluster_id(libs: Path) -> str:
    path = home() / "kafka" / "cluster-id"
    if not path.exists():
        command = _java("256m", f"{libs}/*", "kafka.tools.StorageTool", "random-uuid", props={})
        path.write_text(subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip())
    return path.read_text().strip()


def servers(lay: Layout, report: Report) -> list[Proc]:
    """Every server's process, its config rendered and its storage formatted."""
    procs = []
    zk_libs = _fetch_zookeeper(report)
    for z in lay.zookeeper:
        folder = home() / z.name
        (folder / "data").mkdir(parents=True, exist_ok=True)
        (folder / "log").mkdir(parents=True, exist_ok=True)
        if len(lay.zookeeper) > 1:
            (folder / "data" / "myid").write_text(f"{z.server_id}\n")
        conf = folder / "zoo.cfg"
        conf.write_text(render.zookeeper(lay, z, folder / "data"), "utf-8")
        props = {
            "zookeeper.log.dir": str(folder / "log"),
            "logback.configurationFile": str(render.TEMPLATES / "zookeeper-logback.xml"),
            "zookeeper.admin.enableServer": "false",
        }
        command = _java(ZOOKEEPER_HEAP, f"{zk_libs}/*", "org.apache.zookeeper.server.quorum.QuorumPeerMain",
                        str(conf), props=props)  # fmt: skip
        procs.append(Proc(z.name, command, dict(os.environ), folder, port=(z.host, z.port), ruok=True))
    libs = _fetch_kafka(report)
    cluster_id = _kafka_cluster_id(libs)
    for b in lay.brokers:
        folder = home() / b.name
        (folder / "log").mkdir(parents=True, exist_ok=True)
        conf = folder / "server.properties"
        conf.write_text(render.kafka(lay, b, folder / "data"), "utf-8")
        props = {
            "kafka.logs.dir": str(folder / "log"),
            "log4j2.configurationFile": str(DEPLOY_DIR / "kafka" / "log4j2.properties"),
        }
        if not (folder / "data" / "meta.properties").exists():
            report(f"{b.name}: formatting KRaft storage (cluster {cluster_id})")
            fmt = _java("256m", f"{libs}/*", "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c",
                        str(conf), props=props)  # fmt: skip
            subprocess.run(fmt, check=True, capture_output=True)
        command = _java(KAFKA_HEAP, f"{libs}/*", "kafka.Kafka", str(conf), props=props)
        procs.append(Proc(b.name, command, dict(os.environ), folder, port=(b.host, b.port)))
    binary = shutil.which("clickhouse-server") or "/usr/sbin/clickhouse-server"
    if not Path(binary).exists():
        raise ClusterError("clickhouse-server not found: deploy/clickhouse.sh install")
    users = render.clickhouse_users(lay)
    for n in lay.clickhouse:
        folder = home() / n.name
        for sub in ("conf", "data", "tmp", "log", "user_files", "format_schemas"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        (folder / "conf" / "config.xml").write_text(render.clickhouse(lay, n, folder), "utf-8")
        (folder / "conf" / "users.xml").write_text(users, "utf-8")
        command = (binary, f"--config-file={folder / 'conf' / 'config.xml'}")
        procs.append(Proc(n.name, command, dict(os.environ), folder, port=(n.host, n.tcp_port)))
    return procs


# -- the services -----------------------------------------------------------------------------------


def services(lay: Layout) -> list[Proc]:
    """Two processes of each service; process i talks to ClickHouse server i
    first and fails over to the others; all share the brokers."""
    cli = (sys.executable, "-m", "services.cli")
    base = os.environ | {"RIBAO_DEV_MODE": os.environ.get("RIBAO_DEV_MODE", "1"), "PYTHONUNBUFFERED": "1"}
    base["RIBAO_HOME"] = str(home())
    procs = []
    for i, port in enumerate(lay.services.ingest):
        env = base | lay.service_env(i) | {"RIBAO_INGEST_PORT": str(port)}
        procs.append(Proc(f"ingest-{i + 1}", (*cli, "ingest"), env, REPO_DIR,
                          ready_url=f"http://127.0.0.1:{port}/readyz"))  # fmt: skip
    for i, port in enumerate(lay.services.aggregator_metrics):
        env = (
            base
            | lay.service_env(i + 1)
            | {
                "RIBAO_AGGREGATOR_METRICS_PORT": str(port),
                "RIBAO_AGGREGATOR_DATA_DIR": str(home() / f"aggregator-{i + 1}"),
            }
        )
        procs.append(Proc(f"aggregator-{i + 1}", (*cli, "aggregator"), env, REPO_DIR,
                          ready_url=f"http://127.0.0.1:{port}/metrics"))  # fmt: skip
    for i, port in enumerate(lay.services.api):
        env = base | lay.service_env(i + 2) | {"RIBAO_API_PORT": str(port)}
        procs.append(Proc(f"api-{i + 1}", (*cli, "api"), env, REPO_DIR,
                          ready_url=f"http://127.0.0.1:{port}/readyz"))  # fmt: skip
    return procs


# -- starting and stopping --------------------------------------------------------------------------


def launch(proc: Proc, report: Report) -> int:
    """Starts the process unless it runs; returns its pid (not waiting)."""
    running = pid(proc.name)
    if running is not None:
        return running
    if proc.port and port_open(*proc.port):
        raise ClusterError(f"{proc.name}: {proc.port[0]}:{proc.port[1]} is already in use by another process")
    _pidfile(proc.name).parent.mkdir(parents=True, exist_ok=True)
    _log(proc.name).parent.mkdir(parents=True, exist_ok=True)
    with open(_log(proc.name), "ab") as log:
        child = subprocess.Popen(
            proc.command, stdout=log, stderr=subprocess.STDOUT, env=proc.env, cwd=proc.cwd,
            start_new_session=True,
        )  # fmt: skip
    _pidfile(proc.name).write_text(str(child.pid))
    report(f"{proc.name}: started (pid {child.pid}), log {_log(proc.name)}")
    return child.pid


def wait_ready(proc: Proc, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if pid(proc.name) is None:
            raise ClusterError(f"{proc.name} exited during start-up; see {_log(proc.name)}")
        if proc.ruok and proc.port:
            if zookeeper_ok(*proc.port):
                return
        elif proc.port and port_open(*proc.port) and not proc.ready_url:
            return
        if proc.ready_url:
            try:
                with urllib.request.urlopen(proc.ready_url, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
        time.sleep(0.3)
    raise ClusterError(f"{proc.name} not ready after {seconds:.0f}s; see {_log(proc.name)}")


def start_all(procs: list[Proc], report: Report, seconds: float = 120) -> None:
    """Starts them side by side (three KRaft controllers need each other), then waits for each."""
    for proc in procs:
        launch(proc, report)
    for proc in procs:
        wait_ready(proc, seconds)


def stop(name: str, report: Report, sig: signal.Signals = signal.SIGTERM, timeout: float = 30) -> None:
    """Signals the process; with SIGTERM waits for it to exit (SIGKILL after `timeout`)."""
    found = pid(name)
    if found is None:
        _pidfile(name).unlink(missing_ok=True)
        return
    os.kill(found, sig)
    deadline = time.monotonic() + (timeout if sig != signal.SIGSTOP else 0)
    while sig != signal.SIGSTOP and _alive(found) and time.monotonic() < deadline:
        time.sleep(0.2)
    if sig != signal.SIGSTOP and _alive(found):
        report(f"{name}: still up after {timeout:.0f}s, SIGKILL")
        os.kill(found, signal.SIGKILL)
        while _alive(found):
            time.sleep(0.1)
    if sig != signal.SIGSTOP:
        _pidfile(name).unlink(missing_ok=True)
    report(f"{name}: {'stopped' if sig == signal.SIGTERM else sig.name}")


def stop_all(names: list[str], report: Report, timeout: float = 30) -> None:
    """SIGTERM to each at once, then waits (SIGKILL after `timeout`)."""
    found = {n: p for n in names if (p := pid(n)) is not None}
    for p in found.values():
        os.kill(p, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(_alive(p) for p in found.values()) and time.monotonic() < deadline:
        time.sleep(0.2)
    for name in names:
        stop(name, report, timeout=1)


def rss_kib(name: str) -> int:
    """Resident memory of the process and its children, KiB (0 when not running)."""
    found = pid(name)
    if found is None:
        return 0
    total = 0
    todo = [found]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += next(int(ln.split()[1]) for ln in status.splitlines() if ln.startswith("VmRSS:"))
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except (OSError, StopIteration):
            continue
        todo.extend(int(c) for c in children)
    return total
