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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Pipeline:
    settings: CommonSettings
    env: dict[str, str]
    workdir: Path
    ingest_url: str = ""
    api_url: str = ""
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, ready: str | None = None, timeout: float = 90) -> None:
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 (the child owns it)
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli", name],
            env=self.env,
            cwd=REPO_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs[name] = proc
        if ready is None:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited at start-up:\n{self.log_tail(name)}")
            try:
                if httpx.get(ready, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{name} not ready after {timeout}s:\n{self.log_tail(name)}")

    def stop(self, name: str, kill: bool = False) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        if kill:
            proc.kill()
        else:
            proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.workdir / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def post(self, body: Any, content_type: str = "application/json") -> httpx.Response:
        data = body if isinstance(body, bytes) else httpx_json(body)
        return httpx.post(
            f"{self.ingest_url}/v1/events", content=data, headers={"content-type": content_type}, timeout=60
        )

    def get(self, path: str, **params: Any) -> httpx.Response:
        return httpx.get(f"{self.api_url}{path}", params=params, timeout=60)

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        return list(client(self.settings).execute(sql, params or {}))


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


def new_pipeline(workdir: Path) -> Pipeline:
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
            "PYTHONUNBUFFERED": "1",
        }
    )
    settings = CommonSettings(
        events_topic=env["RIBAO_EVENTS_TOPIC"], clickhouse_database=env["RIBAO_CLICKHOUSE_DATABASE"]
    )
    return Pipeline(
        settings,
        env,
        workdir,
        ingest_url=f"http://127.0.0.1:{env['RIBAO_INGEST_PORT']}",
        api_url=f"http://127.0.0.1:{env['RIBAO_API_PORT']}",
    )
