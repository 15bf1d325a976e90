"""A private copy of the pipeline for one test session: its own ClickHouse
database and Kafka topic on the real servers, and the three services started
as subprocesses on free ports, exactly as `ribao stack up` starts them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from services.children import Children, free_port
from services.common.clickhouse import client
from services.common.config import REPO_DIR, CommonSettings

T = TypeVar("T")


def require_services(settings: CommonSettings) -> None:
    """Fails (in CI) or skips (elsewhere) when Kafka or ClickHouse is not up."""
    missing = []
    for name, hostport in (
        ("Kafka", settings.kafka_bootstrap.split(",")[0]),
        ("ClickHouse", f"{settings.clickhouse_host}:{settings.clickhouse_port}"),
    ):
        host, _, port = hostport.rpartition(":")
        try:
            socket.create_connection((host, int(port)), timeout=3).close()
        except OSError:
            missing.append(f"{name} at {hostport}")
    if missing:
        msg = f"{' and '.join(missing)} not reachable: start them with `ribao stack up --infra`"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(msg)
        pytest.skip(msg)


@dataclass
class Pipeline:
    settings: CommonSettings
    env: dict[str, str] = field(repr=False)
    workdir: Path
    ingest_url: str = ""
    api_url: str = ""
    #: the aggregator's /metrics
    aggregator_metrics_url: str = ""
    #: an admin token over the whole country (see `credential` for others)
    token: str = field(default="", repr=False)
    children: Children = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.children = Children(self.workdir)

    @property
    def procs(self) -> dict[str, subprocess.Popen[bytes]]:
        return self.children.procs

    def start(
        self, name: str, ready: str | None = None, timeout: float = 90, command: str = "", **env: str
    ) -> None:
        """Starts a service (`env` overrides settings); waits for `ready` when given.
        `command` (default: `name`) is the `ribao` command, so that two processes
        of one service can run under two names."""
        self.children.spawn(name, command or name, self.env | env)
        if ready is not None:
            self.children.await_ready(name, lambda: httpx.get(ready, timeout=2).status_code == 200, timeout)

    def stop(self, name: str, kill: bool = False) -> None:
        self.children.stop(name, kill)

    def signal(self, name: str, sig: int) -> None:
        """Sends a signal to a running service (e.g. SIGSTOP to freeze it, SIGCONT)."""
        self.procs[name].send_signal(sig)

    def log_tail(self, name: str, lines: int = 40) -> str:
        return self.children.log_tail(name, lines)

    def variant(self, workdir: Path, **env: str) -> Pipeline:
        """Another set of services on fresh ports over the same store and topic,
        with settings overridden by `env` (start them with `start`)."""
        ports = {
            "RIBAO_INGEST_PORT": str(free_port()),
            "RIBAO_API_PORT": str(free_port()),
            "RIBAO_AGGREGATOR_METRICS_PORT": str(free_port()),
        }
        merged = self.env | ports | env
        return Pipeline(
            self.settings,
            merged,
            workdir,
            ingest_url=f"http://127.0.0.1:{merged['RIBAO_INGEST_PORT']}",
            api_url=f"http://127.0.0.1:{merged['RIBAO_API_PORT']}",
            aggregator_metrics_url=f"http://127.0.0.1:{merged['RIBAO_AGGREGATOR_METRICS_PORT']}/metrics",
            token=self.token,
        )

    def stop_all(self) -> None:
        self.children.stop_all()

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Runs a `ribao` command with this pipeline's settings; captures its output."""
        return subprocess.run(
            [sys.executable, "-m", "services.cli", *args],
            env=self.env,
            cwd=REPO_DIR,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def credential(self, name: str, role: str, scope: str) -> str:
        """Creates a credential in this pipeline's database; returns its token."""
        from services.common.credentials import CredentialStore

        return CredentialStore(self.settings).create(name, role, scope)[1]

    def headers(self, token: str | None = None) -> dict[str, str]:
        """Authorization for `token` (default: the admin token; "" sends none)."""
        token = self.token if token is None else token
        return {"authorization": f"Bearer {token}"} if token else {}

    def post(
        self, body: Any, content_type: str = "application/json", token: str | None = None
    ) -> httpx.Response:
        data = body if isinstance(body, bytes) else httpx_json(body)
        return httpx.post(
            f"{self.ingest_url}/v1/events",
            content=data,
            headers={"content-type": content_type} | self.headers(token),
            timeout=60,
        )

    def get(self, path: str, token: str | None = None, **params: Any) -> httpx.Response:
        return httpx.get(f"{self.api_url}{path}", params=params, headers=self.headers(token), timeout=60)

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        return list(client(self.settings).execute(sql, params))

    def insert(self, sql: str, rows: list[Any], columnar: bool = False) -> None:
        client(self.settings).execute(sql, rows, columnar=columnar)


def httpx_json(value: Any) -> bytes:
    import orjson

    return orjson.dumps(value)


def poll(
    fetch: Callable[[], T], done: Callable[[T], bool], timeout: float = 60, what: str = "condition"
) -> T:
    """Calls fetch until done(result) or the timeout; fails with the last result."""
    deadline = time.monotonic() + timeout
    last = fetch()
    while not done(last):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s; last: {last!r}")
        time.sleep(0.25)
        last = fetch()
    return last


def new_pipeline(workdir: Path, **overrides: str) -> Pipeline:
    """A pipeline on a topic and database of its own; `overrides` are `RIBAO_*`
    variables for every service and for the test's own settings (e.g. another
    Kafka and ClickHouse)."""
    tag = uuid.uuid4().hex[:10]
    env = dict(os.environ)
    env.update(
        {
            "RIBAO_DEV_MODE": "1",
            "RIBAO_EVENTS_TOPIC": f"ribao.test.{tag}",
            "RIBAO_CLICKHOUSE_DATABASE": f"ribao_test_{tag}",
            "RIBAO_AGGREGATOR_ID": f"ribao-test-{tag}",
            "RIBAO_AGGREGATOR_DATA_DIR": str(workdir / "aggregator"),
            "RIBAO_INGEST_PORT": str(free_port()),
            "RIBAO_API_PORT": str(free_port()),
            "RIBAO_AGGREGATOR_METRICS_PORT": str(free_port()),
            "RIBAO_LOG_FORMAT": "json",
            "PYTHONUNBUFFERED": "1",
            # the tests' load is not a flood; test_access sets a low limit where it checks it
            "RIBAO_RATE_LIMIT": "1000000/minute",
        }
    )
    env.update(overrides)
    settings = CommonSettings(
        **{  # type: ignore[arg-type]
            name: env[f"RIBAO_{name.upper()}"]
            for name in CommonSettings.model_fields
            if f"RIBAO_{name.upper()}" in env
        }
    )
    return Pipeline(
        settings,
        env,
        workdir,
        ingest_url=f"http://127.0.0.1:{env['RIBAO_INGEST_PORT']}",
        api_url=f"http://127.0.0.1:{env['RIBAO_API_PORT']}",
        aggregator_metrics_url=f"http://127.0.0.1:{env['RIBAO_AGGREGATOR_METRICS_PORT']}/metrics",
    )


def produce(
    settings: CommonSettings, records: list[Any], partitions: list[int] | None = None, batch: int = 0
) -> None:
    """Writes EventRecords straight to the topic, one per Kafka record (ingest
    packs a request's events bound for one partition into one: both are read
    alike, schemas/records.py), keyed by county as ingest partitions them,
    or onto the given partitions (to vary partitioning), flushing every
    `batch` records (0: once at the end)."""
    from kafka import KafkaProducer

    from schemas import codes

    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=5)
    try:
        futures = []
        for i, rec in enumerate(records):
            futures.append(
                producer.send(
                    settings.events_topic,
                    key=codes.partition_key(rec.event.jurisdiction).encode(),
                    value=rec.to_json(),
                    partition=None if partitions is None else partitions[i],
                )
            )
            if batch and (i + 1) % batch == 0:
                producer.flush()
        for f in futures:
            f.get(timeout=30)
    finally:
        producer.close()


def topic_partitions(consumer: Any, topic: str, timeout: float = 30) -> list[Any]:
    """The topic's partitions. A consumer without metadata yet (a busy broker)
    sees none: wait for them rather than take the topic for empty."""
    from kafka import TopicPartition
    from kafka.errors import KafkaTimeoutError

    deadline = time.monotonic() + timeout
    while not (found := consumer.partitions_for_topic(topic)):
        if time.monotonic() > deadline:
            raise KafkaTimeoutError(f"no partition metadata for {topic} after {timeout}s")
        time.sleep(0.2)
    return [TopicPartition(topic, p) for p in sorted(found)]


def topic_size(settings: CommonSettings) -> int:
    """Records on the events topic so far (the sum of its partitions' end offsets)."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    try:
        return sum(consumer.end_offsets(topic_partitions(consumer, settings.events_topic)).values())
    finally:
        consumer.close()


def read_topic(settings: CommonSettings, topic: str, timeout: float = 60) -> list[Any]:
    """Every record on the topic, from the beginning to the end it has now
    (kafka-python ConsumerRecords: partition, offset, key, value, headers)."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    try:
        tps = topic_partitions(consumer, topic)
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        out: list[Any] = []
        deadline = time.monotonic() + timeout
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            assert time.monotonic() < deadline, f"reading {topic} took over {timeout}s"
            for tp, messages in consumer.poll(timeout_ms=500, max_records=10_000).items():
                out.extend(m for m in messages if m.offset < ends[tp])
        return out
    finally:
        consumer.close()


def topic_offsets(
    settings: CommonSettings, group: str, topic: str | None = None
) -> tuple[dict[int, int], dict[int, int]]:
    """(end offset, offset the group committed) of each partition of the events
    topic (or of `topic`)."""
    from kafka import KafkaAdminClient, KafkaConsumer

    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        parts = topic_partitions(consumer, topic or settings.events_topic)
        ends = consumer.end_offsets(parts)
        committed = admin.list_group_offsets({group: None}).get(group, {})
        return (
            {tp.partition: ends[tp] for tp in parts},
            {tp.partition: max(0, committed[tp].offset) if tp in committed else 0 for tp in parts},
        )
    finally:
        consumer.close()
        admin.close()


def aggregator_lag(settings: CommonSettings, group: str) -> int:
    """Records the aggregator has not committed yet: on the events topic, then
    on the subjects topic (stage 1 publishes a batch's subjects before it
    commits the batch, so both at 0, read in this order, mean every recount
    is written)."""
    lag = 0
    for topic in (settings.events_topic, settings.subjects_topic_name):
        ends, committed = topic_offsets(settings, group, topic)
        lag += sum(max(0, end - committed[p]) for p, end in ends.items())
    return lag


def wait_caught_up(p: Pipeline, timeout: float = 120) -> None:
    """Until the aggregator has committed every record on the topic."""
    from kafka.errors import KafkaError

    group = p.env["RIBAO_AGGREGATOR_ID"]

    def lag() -> int | None:
        try:
            return aggregator_lag(p.settings, group)
        except KafkaError:  # e.g. a new broker still creating __consumer_offsets
            return None

    poll(lag, lambda n: n == 0, timeout=timeout, what="aggregator caught up (lag 0)")
