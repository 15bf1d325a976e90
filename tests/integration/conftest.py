"""Fixtures for tests against the real Kafka and ClickHouse."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from services.common.clickhouse import client
from services.common.config import CommonSettings
from services.common.setup import setup
from services.common.topics import delete_topic
from tests.integration.harness import Pipeline, new_pipeline, require_services


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    """Ingest, aggregator and API running against a fresh database and topic."""
    require_services(CommonSettings())
    p = new_pipeline(tmp_path_factory.mktemp("pipeline"))
    setup(p.settings, report=lambda _msg: None)
    p.token = p.credential("test-admin", "admin", "all")
    try:
        p.start("ingest", f"{p.ingest_url}/readyz")
        p.start("aggregator")
        p.start("api", f"{p.api_url}/readyz")
        yield p
    finally:
        for name in list(p.procs):
            p.stop(name)
        client(p.settings, database="default").execute(
            f"DROP DATABASE IF EXISTS {p.settings.clickhouse_database}"
        )
        delete_topic(
            p.settings,
            p.settings.events_topic,
            p.settings.dead_letter_topic_name,
            p.settings.subjects_topic_name,
        )


@pytest.fixture(scope="session")
def cluster_servers() -> Iterator[Any]:
    """The local cluster's servers (tests/integration/cluster.py), started once
    for the session's cluster tests when they are not up, stopped at its end."""
    from tests.integration.cluster import servers

    yield from servers()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """The fault suite's table: one row per scenario that ran."""
    from tests.integration.faults import OUTCOMES, table

    if not OUTCOMES:
        return
    terminalreporter.section("fault injection: acknowledged versus counted")
    lines = list(table(OUTCOMES))
    for line in lines:
        terminalreporter.write_line(line)
    cache = getattr(config, "cache", None)  # absent under -p no:cacheprovider
    if cache is not None:
        path = cache.mkdir("faults") / "report.md"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        terminalreporter.write_line(f"(written to {path})")
