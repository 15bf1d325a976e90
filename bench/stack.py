"""The benchmark's own copy of the pipeline on the shared Kafka and ClickHouse:
its own database, topic, consumer group and ports, and the three services
started as subprocesses exactly as `ribao stack up` starts them. Everything
it created is removed at the end (unless --keep)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench import http
from services.common.clickhouse import client
from services.common.config import REPO_DIR, CommonSettings
from services.common.setup import setup
from services.common.topics import delete_topic

SERVICES = ("ingest", "aggregator", "api")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stack:
    tag: str
    settings: CommonSettings
    env: dict[str, str]
    workdir: Path
    token: str | None
    ingest_url: str
    api_url: str
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    #: other topics to delete at the end (the ceilings')
    extra_topics: list[str] = field(default_factory=list)
    extra_groups: list[str] = field(default_factory=list)

    @property
    def group(self) -> str:
        return self.env["RIBAO_AGGREGATOR_ID"]

    def pids(self) -> dict[str, int]:
        return {name: p.pid for name, p in self.procs.items() if p.poll() is None}

    def start(self, name: str, timeout: float = 120, service: str | None = None) -> None:
        """Starts a service (`service`, default `name`; a second aggregator worker
        is e.g. name "aggregator-2"); waits for /readyz (ingest, api)."""
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 (the child owns it)
        env = self.env | {"RIBAO_AGGREGATOR_DATA_DIR": str(self.workdir / name)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli", service or name],
            env=env,
            cwd=REPO_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs[name] = proc
        url = {"ingest": self.ingest_url, "api": self.api_url}.get(name)
        if url is None:
            return
        deadline = time.monotonic() + timeout
        with http.client(url, self.token, timeout=5) as c:
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited at start-up:\n{self.log_tail(name)}")
                try:
                    if c.get("/readyz").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.3)
        raise RuntimeError(f"{name} not ready after {timeout:.0f}s:\n{self.log_tail(name)}")

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.workdir / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def alive(self, name: str) -> bool:
        proc = self.procs.get(name)
        return proc is not None and proc.poll() is None

    def teardown(self, keep: bool) -> None:
        for name in list(self.procs):
            self.stop(name)
        if keep:
            print(
                f"kept: database {self.settings.clickhouse_database}, topic {self.settings.events_topic}, "
                f"logs in {self.workdir}"
            )
            return
        client(self.settings, database="default").execute(
            f"DROP DATABASE IF EXISTS {self.settings.clickhouse_database}"
        )
        # `<events topic>.dead`: the dead-letter topic, where the aggregator has one
        dead = f"{self.settings.events_topic}.dead"
        for topic in [self.settings.events_topic, dead, *self.extra_topics]:
            try:
                delete_topic(self.settings, topic)
            except Exception as exc:  # a topic that was never created
                if topic != dead:
                    print(f"  (topic {topic}: {type(exc).__name__})")
        _delete_groups(self.settings, [self.group, *self.extra_groups])
        shutil.rmtree(self.workdir, ignore_errors=True)


def _delete_groups(settings: CommonSettings, groups: list[str]) -> None:
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, client_id="ribao-bench")
    try:
        admin.delete_groups(groups)
    except Exception as exc:  # groups that never committed
        print(f"  (consumer groups: {type(exc).__name__})")
    finally:
        admin.close()


def new_stack(token: str | None, zero_window_days: int) -> Stack:
    """A stack of one's own (nothing started yet): database and topic created,
    registry loaded."""
    tag = uuid.uuid4().hex[:8]
    workdir = Path(tempfile.mkdtemp(prefix=f"ribao-bench-{tag}-"))
    env = dict(os.environ)
    env.update(
        {
            "RIBAO_DEV_MODE": "1",
            "RIBAO_EVENTS_TOPIC": f"ribao.bench.{tag}",
            "RIBAO_CLICKHOUSE_DATABASE": f"ribao_bench_{tag}",
            "RIBAO_AGGREGATOR_ID": f"ribao-bench-{tag}",
            "RIBAO_AGGREGATOR_DATA_DIR": str(workdir / "aggregator"),
            "RIBAO_INGEST_PORT": str(free_port()),
            "RIBAO_API_PORT": str(free_port()),
            # the history is 30 days old: its 零报告 must be inside the window
            "RIBAO_ZERO_REPORT_WINDOW_DAYS": str(zero_window_days),
            "PYTHONUNBUFFERED": "1",
            # one sender's load is the point here, not a flood to limit
            "RIBAO_RATE_LIMIT": "100000000/minute",
        }
    )
    settings = CommonSettings(
        events_topic=env["RIBAO_EVENTS_TOPIC"], clickhouse_database=env["RIBAO_CLICKHOUSE_DATABASE"]
    )
    stack = Stack(
        tag,
        settings,
        env,
        workdir,
        token,
        ingest_url=f"http://127.0.0.1:{env['RIBAO_INGEST_PORT']}",
        api_url=f"http://127.0.0.1:{env['RIBAO_API_PORT']}",
    )
    setup(settings, report=lambda _m: None)
    if stack.token is None:  # the database is new: an admin credential of its own
        from services.common.credentials import CredentialStore

        stack.token = CredentialStore(settings).create(f"bench-{tag}", "admin", "all")[1]
    return stack
