"""Moving the data to a current ClickHouse (docs/deploy.md, section 5): every
table of a store on the 18.16 server, exported by `clickhouse-client` in the
Native format, imports into a current engine (chdb) whose schema the
project's migrations made, and the archive, the counts (summed by key, and
the exact deltas) and the newest snapshots are the same there. (The SQL
itself is checked on both engines by test_store_compat.py.)"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.common.clickhouse import client, migrate, migrations
from services.common.config import CommonSettings
from tests.integration.harness import require_services
from tests.integration.storefill import fill

#: what must be equal on both engines (rows of Summing/Replacing tables may
#: differ in number: a current engine folds the rows of one insert)
SAME = [
    "SELECT event_id, recorded_us, content_hash, kafka_partition, kafka_offset, record FROM events "
    "ORDER BY event_id, recorded_us, kafka_partition, kafka_offset",
    "SELECT code, counter, bucket, gap, stamp_hour, sum(delta) AS d FROM counts "
    "GROUP BY code, counter, bucket, gap, stamp_hour HAVING d != 0 "
    "ORDER BY code, counter, bucket, gap, stamp_hour",
    "SELECT code, t, counter, bucket, gap, delta FROM counts_exact "
    "ORDER BY code, t, counter, bucket, gap, delta",
    "SELECT subject, max(seq), argMax(event_ids, seq), argMax(since, seq), argMax(until, seq) "
    "FROM counting_snapshots GROUP BY subject ORDER BY subject",
]


@pytest.fixture
def store() -> Iterator[CommonSettings]:
    require_services(CommonSettings())
    settings = CommonSettings(clickhouse_database=f"ribao_test_move_{uuid.uuid4().hex[:10]}")
    migrate(settings)
    try:
        yield settings
    finally:
        drop = f"DROP DATABASE IF EXISTS {settings.clickhouse_database}"
        client(settings, database="default").execute(drop)


def clickhouse_client() -> str:
    found = shutil.which("clickhouse-client")
    if found is None:
        msg = "clickhouse-client not found: deploy/clickhouse.sh installs it with the server"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(msg)
        pytest.skip(msg)
    assert found is not None
    return found


def export_native(settings: CommonSettings, table: str, columns: str, path: Path) -> None:
    with path.open("wb") as out:
        subprocess.run(
            [
                clickhouse_client(),
                f"--host={settings.clickhouse_host}",
                f"--port={settings.clickhouse_port}",
                f"--user={settings.clickhouse_user}",
                *([f"--password={settings.clickhouse_password}"] if settings.clickhouse_password else []),
                f"--database={settings.clickhouse_database}",
                f"--query=SELECT {columns} FROM {table} FORMAT Native",
            ],
            stdout=out,
            check=True,
            timeout=120,
        )


def as_text(rows: Any) -> list[list[str]]:
    """Rows of either engine in one form (chdb's JSON and the driver's tuples)."""
    return [[json.dumps(v) if isinstance(v, list | tuple) else str(v) for v in r] for r in rows]


def test_the_store_moves_to_a_current_engine_with_the_same_figures(
    store: CommonSettings, tmp_path: Path
) -> None:
    from chdb import session

    fill(store)
    old = client(store)
    tables = [
        str(n)
        for (n,) in old.execute(
            "SELECT name FROM system.tables WHERE database = %(db)s AND engine LIKE '%%MergeTree' "
            "AND name != 'schema_migrations' ORDER BY name",
            {"db": store.clickhouse_database},
        )
    ]
    assert {"events", "counts", "counts_exact", "counting_snapshots", "facts"} <= set(tables)

    new = session.Session(str(tmp_path / "chdb"))
    for migration in migrations():
        for statement in migration.statements:
            new.query(statement)
    assert not new.query("SELECT version()", "CSV").bytes().decode().strip('"\n').startswith("18.")
    for table in tables:
        columns = ", ".join(
            str(c)
            for (c,) in old.execute(
                "SELECT name FROM system.columns WHERE database = %(db)s AND table = %(t)s",
                {"db": store.clickhouse_database, "t": table},
            )
        )
        path = tmp_path / f"{table}.native"
        export_native(store, table, columns, path)
        new.query(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM file('{path}', Native)")

    for sql in SAME:
        before = as_text(old.execute(sql))
        after = as_text(json.loads(new.query(sql, "JSONCompact").bytes().decode())["data"])
        assert before, sql
        assert after == before, sql
