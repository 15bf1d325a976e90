"""The benchmark's own copy of the pipeline on the shared Kafka and ClickHouse:
its own database, topic, consumer group and ports, and the three services
started as subprocesses exactly as `ribao stack up` starts them. Everything
it created is removed at the end (unless --keep)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from bench import http
from services.children import Children, free_port
from services.common.clickhouse import client
from services.common.config import CommonSettings
from services.common.setup import setup
from services.common.topics import delete_topic

SERVICES = ("ingest", "aggregator", "api")


@dataclass
class Stack:
    tag: str
    settings: CommonSettings
    env: dict[str, str]
    workdir: Path
    token: str | None
    ingest_url: str
    api_url: str
    #: other topics to delete at the end (the ceilings')
    extra_topics: list[str] = field(default_factory=list)
    extra_groups: list[str] = field(default_factory=list)
    children: Children = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.children = Children(self.workdir)

    @property
    def procs(self) -> dict[str, subprocess.Popen[bytes]]:
        return self.children.procs

    @property
    def group(self) -> str:
        return self.env["RIBAO_AGGREGATOR_ID"]

    def pids(self) -> dict[str, int]:
        return self.children.pids()

    def start(self, name: str, timeout: float = 120, service: str | None = None) -> None:
        """Starts a service (`service`, default `name`; a second aggregator worker
        is e.g. name "aggregator-2"); waits for /readyz (ingest, api)."""
        env = self.env | {"RIBAO_AGGREGATOR_DATA_DIR": str(self.workdir / name)}
        self.children.spawn(name, service or name, env)
        url = {"ingest": self.ingest_url, "api": self.api_url}.get(name)
        if url is None:
            return
        with http.client(url, self.token, timeout=5) as c:
            self.children.await_ready(name, lambda: c.get("/readyz").status_code == 200, timeout)

    def stop(self, name: str, kill: bool = False) -> None:
        """Stops a service (SIGTERM, or SIGKILL with `kill`)."""
        self.children.stop(name, kill)

    def log_tail(self, name: str, lines: int = 30) -> str:
        return self.children.log_tail(name, lines)

    def alive(self, name: str) -> bool:
        return self.children.alive(name)

    def teardown(self, keep: bool) -> None:
        self.children.stop_all()
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
        subjects = self.settings.subjects_topic_name
        for topic in [self.settings.events_topic, dead, subjects, *self.extra_topics]:
            try:
                delete_topic(self.settings, topic)
            except Exception as exc:  # a topic that was never created
                if topic not in (dead, subjects):
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


def _env(tag: str, workdir: Path, zero_window_days: int, ingest_workers: int) -> dict[str, str]:
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
            "RIBAO_INGEST_WORKERS": str(ingest_workers),
            "PYTHONUNBUFFERED": "1",
            # one sender's load is the point here, not a flood to limit
            "RIBAO_RATE_LIMIT": "100000000/minute",
        }
    )
    return env


def _stack(tag: str, env: dict[str, str], workdir: Path, token: str | None) -> Stack:
    settings = CommonSettings(
        events_topic=env["RIBAO_EVENTS_TOPIC"], clickhouse_database=env["RIBAO_CLICKHOUSE_DATABASE"]
    )
    return Stack(
        tag,
        settings,
        env,
        workdir,
        token,
        ingest_url=f"http://127.0.0.1:{env['RIBAO_INGEST_PORT']}",
        api_url=f"http://127.0.0.1:{env['RIBAO_API_PORT']}",
    )


def _admin_token(stack: Stack, name: str) -> str:
    """An admin credential of the stack's own database."""
    from services.common.credentials import CredentialStore

    return CredentialStore(stack.settings).create(name, "admin", "all")[1]


def new_stack(token: str | None, zero_window_days: int, ingest_workers: int = 1) -> Stack:
    """A stack of one's own (nothing started yet): database and topic created,
    registry loaded."""
    tag = uuid.uuid4().hex[:8]
    workdir = Path(tempfile.mkdtemp(prefix=f"ribao-bench-{tag}-"))
    stack = _stack(tag, _env(tag, workdir, zero_window_days, ingest_workers), workdir, token)
    setup(stack.settings, report=lambda _m: None)
    if stack.token is None:  # the database is new: an admin credential of its own
        stack.token = _admin_token(stack, f"bench-{tag}")
    return stack


def kept_stack(database: str, zero_window_days: int) -> Stack:
    """The stack of a run that kept its database (`--keep`), nothing started:
    its database and topic as they were, an admin credential added to use it."""
    tag = database.removeprefix("ribao_bench_")
    if tag == database or not client(CommonSettings(), database="default").execute(
        "SELECT 1 FROM system.databases WHERE name = %(d)s", {"d": database}
    ):
        raise SystemExit(f"--database: {database!r} is not a database a bench run kept (ribao_bench_<tag>)")
    workdir = Path(tempfile.mkdtemp(prefix=f"ribao-bench-{tag}-reads-"))
    stack = _stack(tag, _env(tag, workdir, zero_window_days, 1), workdir, None)
    stack.token = _admin_token(stack, f"bench-{tag}-{uuid.uuid4().hex[:8]}")
    return stack
