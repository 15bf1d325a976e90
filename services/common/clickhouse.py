"""ClickHouse access shared by the services: clients and schema migrations.

Every statement must run on the old server these machines install (18.16) and
on a current ClickHouse (checked with chdb in tests/integration/test_chdb_compat.py).
Values always travel as clickhouse-driver parameters, never spliced into SQL.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any

from clickhouse_driver import Client
from clickhouse_driver.errors import ServerException

from services.common import cluster_ddl
from services.common.cluster_ddl import Cluster
from services.common.config import CommonSettings

MIGRATIONS_PACKAGE = "services.common.migrations"


#: a cluster's query settings: a Distributed subquery in IN or JOIN is computed
#: once over every shard (as on one server, never per shard); an insert into a
#: Distributed table returns once every shard has its block; every process
#: reads the first live replica of each shard with the fewest errors, in the
#: cluster's order (not its own server's). That alone does not make a read see
#: the last writes (a replica may not have fetched them yet): the aggregator
#: waits for its replicas before the reads that must (services/common/replica_sync.py).
#: Insert deduplication stays on: a retried recount's blocks are dropped where
#: they went in before (migration 013). No insert quorum: on 18.16 two quorum
#: inserts into one shard refuse each other (docs/design.md).
CLUSTER_SETTINGS = {
    "distributed_product_mode": "global",
    "insert_distributed_sync": 1,
    "load_balancing": "in_order",
    "prefer_localhost_replica": 0,
}


def client(settings: CommonSettings, database: str | None = None, timeout_s: float = 60) -> Client:
    """A client (it connects on first use, to the first of the host and
    RIBAO_CLICKHOUSE_ALT_HOSTS that answers); `timeout_s` bounds each exchange
    with the server and the query's execution (connecting: at most 5 s)."""
    extra: dict[str, Any] = (
        {"alt_hosts": settings.clickhouse_alt_hosts} if settings.clickhouse_alt_hosts else {}
    )
    on_cluster = CLUSTER_SETTINGS if settings.clickhouse_cluster else {}
    return Client(
        host=settings.clickhouse_host,
        port=settings.clickhouse_port,
        user=settings.clickhouse_user,
        password=settings.clickhouse_password,
        database=database if database is not None else settings.clickhouse_database,
        connect_timeout=min(5, timeout_s),
        send_receive_timeout=timeout_s,
        settings={"max_execution_time": max(1, math.ceil(timeout_s)), **on_cluster},
        **extra,
    )


def placed(settings: CommonSettings, statement: str) -> list[str]:
    """A migration statement as it runs here: itself on one server, its
    cluster form (services/common/cluster_ddl.py) under RIBAO_CLICKHOUSE_CLUSTER."""
    if not settings.clickhouse_cluster:
        return [statement]
    return cluster_ddl.rewrite(Cluster(settings.clickhouse_cluster, settings.clickhouse_database), statement)


def truncate(settings: CommonSettings, ch: Client, table: str) -> None:
    """Empties a table (on a cluster: on every shard)."""
    for statement in placed(settings, f"TRUNCATE TABLE {table}"):
        ch.execute(statement)


def external_table(name: str, column: str, type_: str, values: Iterable[Any]) -> dict[str, Any]:
    """One column of keys as a native-format external table (clickhouse-driver's
    `external_tables`), for `WHERE x IN <name>`: keys never spliced into SQL text."""
    return {"name": name, "structure": [(column, type_)], "data": [{column: v} for v in values]}


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


def split_statements(sql: str) -> tuple[str, ...]:
    """Splits a migration file on `;` at line ends, dropping `--` comment lines."""
    lines = [ln for ln in sql.splitlines() if not ln.lstrip().startswith("--")]
    parts = re.split(r";\s*$", "\n".join(lines), flags=re.MULTILINE)
    return tuple(p.strip() for p in parts if p.strip())


def migrations() -> list[Migration]:
    """The migrations shipped with the package, in version order."""
    out = []
    for entry in resources.files(MIGRATIONS_PACKAGE).iterdir():
        match = re.fullmatch(r"(\d{3})_([a-z0-9_]+)\.sql", entry.name)
        if match:
            out.append(Migration(int(match[1]), match[2], split_statements(entry.read_text("utf-8"))))
    return sorted(out, key=lambda m: m.version)


def iter_pending(applied: set[int]) -> Iterator[Migration]:
    return (m for m in migrations() if m.version not in applied)


#: server error codes meaning "that column is there already" (DUPLICATE_COLUMN, ILLEGAL_COLUMN)
_COLUMN_EXISTS = (15, 44)


def _apply(ch: Client, statement: str) -> None:
    """Runs one statement. `ALTER TABLE ... ADD COLUMN` has no IF NOT EXISTS on
    ClickHouse 18.16, so a column that exists already (a migration interrupted
    after its ALTER) counts as applied."""
    try:
        ch.execute(statement)
    except ServerException as exc:
        if not (statement.lstrip().upper().startswith("ALTER TABLE") and exc.code in _COLUMN_EXISTS):
            raise


def migrate(settings: CommonSettings) -> list[Migration]:
    """Creates the database and applies every migration not yet applied.

    Idempotent: each statement is itself idempotent (IF NOT EXISTS, or an
    ADD COLUMN that tolerates the column), and the versions applied are
    recorded in `schema_migrations`.
    """
    db = settings.clickhouse_database
    create_db = f"CREATE DATABASE IF NOT EXISTS {db}"
    if settings.clickhouse_cluster:
        create_db = cluster_ddl.create_database(Cluster(settings.clickhouse_cluster, db))
    client(settings, database="default").execute(create_db)
    ch = client(settings)
    for statement in placed(
        settings,
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version UInt32, name String, applied_us Int64) "
        "ENGINE = ReplacingMergeTree ORDER BY version",
    ):
        ch.execute(statement)
    applied = {row[0] for row in ch.execute("SELECT version FROM schema_migrations")}
    done = []
    for migration in iter_pending(applied):
        for statement in migration.statements:
            for each in placed(settings, statement):
                _apply(ch, each)
        ch.execute(
            "INSERT INTO schema_migrations (version, name, applied_us) VALUES",
            [(migration.version, migration.name, int(time.time() * 1_000_000))],
        )
        done.append(migration)
    return done


def ping(settings: CommonSettings) -> None:
    """Raises when the server does not answer a trivial query."""
    client(settings, database="default").execute("SELECT 1")
