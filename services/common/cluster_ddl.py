"""The migrations on a ClickHouse cluster (RIBAO_CLICKHOUSE_CLUSTER set).

The migration files are written for one server. On a cluster each statement
is rewritten, so the same files serve both:

- `CREATE TABLE t (...) ENGINE = E ...` becomes `t_local`, a `ReplicatedE` on
  every server (ZooKeeper path per shard: `{shard}` and `{replica}` are each
  server's macros), and `t` itself a `Distributed` table over them, both
  `ON CLUSTER`. The services keep reading and writing `t`.
- Each table's rows go to the shard of `SHARD_KEYS[t]`, an expression of its
  ORDER BY columns, so the rows a Replacing/Summing merge must collapse are
  always on one shard. The ledger is sharded by subject: one subject's deltas
  and its snapshot stay one block, one insert, on one shard (docs/design.md,
  "The counting model on a cluster").
- Materialized views read and fill the local tables (each shard files its own
  part of the ledger); `ALTER`, `DROP`, `RENAME` and `TRUNCATE` act on both
  layers; `INSERT ... SELECT` runs unchanged through the Distributed tables;
  `OPTIMIZE` is left to the background merges.

Reads then need `distributed_product_mode = 'global'` (clickhouse.client sets
it): a subquery over a Distributed table in IN or JOIN is computed once over
every shard, as on one server, and never per shard.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: the sharding expression of every table (columns of its ORDER BY key); None:
#: written only by a materialized view on each shard, never inserted into
SHARD_KEYS: dict[str, str | None] = {
    "schema_migrations": "version",
    "events": "cityHash64(event_id)",
    "facts": "cityHash64(event_id)",
    "facts_new": "cityHash64(event_id)",
    "facts_old": "cityHash64(event_id)",
    "event_duplicates": "cityHash64(event_id)",
    "retractions": "cityHash64(target_event_id)",
    "divisions": "cityHash64(code)",
    "dead_letters": "cityHash64(kafka_partition, kafka_offset)",
    "dead_letters_new": "cityHash64(kafka_partition, kafka_offset)",
    "dead_letters_old": "cityHash64(kafka_partition, kafka_offset)",
    "credentials": "cityHash64(token_id)",
    "event_versions": "id_key",
    "subject_facts": "cityHash64(subject)",
    "counting_ledger": "cityHash64(subject)",
    "counts": None,
    "counts_exact": None,
    "submissions": None,
    "submissions_exact": None,
    "submissions_until": None,
    "submissions_by_bucket": None,
    # filled by a view on each shard, and once by the migration's INSERT ... SELECT
    "submissions_stamps": "cityHash64(t)",
    "submissions_by_level": "cityHash64(code)",
    "counting_snapshots": "cityHash64(subject)",
    "counting_intents": "cityHash64(subject)",
}

#: materialized views (on every server, no Distributed layer)
VIEWS = {
    "counts_mv",
    "counts_exact_mv",
    "counting_snapshots_mv",
    "counts_snapshots_mv",
    "counts_reporting_mv",
    "counts_reporting_exact_mv",
    "counts_reporting_until_mv",
    "counts_reporting_grouped_mv",
    "counts_reporting_exact_at_mv",
    "counts_reporting_level_mv",
}
LOCAL = "_local"


class ClusterDDLError(Exception):
    """A migration statement this module cannot place on a cluster."""


@dataclass(frozen=True)
class Cluster:
    name: str
    database: str

    def local(self, table: str) -> str:
        return f"{self.database}.{table}{LOCAL}"

    def dist(self, table: str) -> str:
        return f"{self.database}.{table}"

    def on(self) -> str:
        return f"ON CLUSTER {self.name}"


_NAME = r"([A-Za-z_][A-Za-z0-9_]*)"
_CREATE = re.compile(
    rf"^CREATE TABLE IF NOT EXISTS {_NAME}\s*(\(.*\))\s*ENGINE\s*=\s*([A-Za-z]+)(?:\(([^)]*)\))?(.*)$",
    re.S,
)
_VIEW = re.compile(
    rf"^CREATE MATERIALIZED VIEW IF NOT EXISTS {_NAME}\s+TO\s+{_NAME}\s+AS\s+"
    rf"(SELECT\s.*?\sFROM\s+){_NAME}(.*)$",
    re.S,
)
_ALTER = re.compile(rf"^ALTER TABLE {_NAME}\s+(.*)$", re.S)
_DROP = re.compile(rf"^DROP TABLE IF EXISTS {_NAME}$")
_RENAME = re.compile(r"^RENAME TABLE (.*)$", re.S)
_OPTIMIZE = re.compile(rf"^OPTIMIZE TABLE {_NAME}(.*)$", re.S)
_TRUNCATE = re.compile(rf"^TRUNCATE TABLE {_NAME}$")


def _key(table: str) -> str | None:
    if table not in SHARD_KEYS:
        raise ClusterDDLError(f"table {table}: no sharding key in services/common/cluster_ddl.SHARD_KEYS")
    return SHARD_KEYS[table]


def create_database(cluster: Cluster) -> str:
    return f"CREATE DATABASE IF NOT EXISTS {cluster.database} {cluster.on()}"


def _engine(cluster: Cluster, table: str, engine: str, args: str | None) -> str:
    if engine == "Null":
        return "Null"
    if not engine.endswith("MergeTree"):
        raise ClusterDDLError(f"table {table}: engine {engine} has no replicated form")
    path = f"'/clickhouse/tables/{{shard}}/{cluster.database}/{table}{LOCAL}'"
    extra = f", {args.strip()}" if args and args.strip() else ""
    return f"Replicated{engine}({path}, '{{replica}}'{extra})"


def rewrite(cluster: Cluster, statement: str) -> list[str]:
    """The cluster's statements for one migration statement."""
    sql = statement.strip()
    if match := _CREATE.match(sql):
        table, columns, engine, args, rest = match.groups()
        key = _key(table)
        sharding = f", {key}" if key else ""
        return [
            f"CREATE TABLE IF NOT EXISTS {cluster.local(table)} {cluster.on()} {columns}\n"
            f"ENGINE = {_engine(cluster, table, engine, args)}{rest}",
            f"CREATE TABLE IF NOT EXISTS {cluster.dist(table)} {cluster.on()} {columns}\n"
            f"ENGINE = Distributed({cluster.name}, {cluster.database}, {table}{LOCAL}{sharding})",
        ]
    if match := _VIEW.match(sql):
        view, target, select, source, rest = match.groups()
        _key(target), _key(source)
        return [
            f"CREATE MATERIALIZED VIEW IF NOT EXISTS {cluster.database}.{view} {cluster.on()} "
            f"TO {cluster.local(target)} AS {select}{cluster.local(source)}{rest}"
        ]
    if match := _ALTER.match(sql):
        # ClickHouse runs an ALTER ON CLUSTER only on replicated tables; the
        # Distributed table (it holds no rows: inserts are synchronous) is
        # made again with the new columns
        table, change = match.groups()
        key = _key(table)
        return [
            f"ALTER TABLE {cluster.local(table)} {cluster.on()} {change}",
            f"DROP TABLE IF EXISTS {cluster.dist(table)} {cluster.on()}",
            _distributed_as_local(cluster, table, key),
        ]
    if match := _DROP.match(sql):
        (table,) = match.groups()
        if table in VIEWS:
            return [f"DROP TABLE IF EXISTS {cluster.database}.{table} {cluster.on()}"]
        _key(table)
        return [
            f"DROP TABLE IF EXISTS {cluster.dist(table)} {cluster.on()}",
            f"DROP TABLE IF EXISTS {cluster.local(table)} {cluster.on()}",
        ]
    if match := _RENAME.match(sql):
        return _rename(cluster, match[1])
    if match := _OPTIMIZE.match(sql):
        # skipped: OPTIMIZE ... ON CLUSTER of a replicated table fails on 18.16
        # ("Unknown log entry type"), and it only merges sooner what background
        # merges do anyway (no figure depends on it: the queries are insensitive
        # to unmerged duplicates)
        _key(match[1])
        return []
    if match := _TRUNCATE.match(sql):
        return truncate(cluster, match[1])
    if sql.upper().startswith(("INSERT INTO", "SELECT")):
        return [sql]
    raise ClusterDDLError(f"no cluster form for: {sql[:80]}")


def _rename(cluster: Cluster, pairs_sql: str) -> list[str]:
    """Renames the local tables. A Distributed table names its local table, so
    `t` then reads what was `t_new_local`; a name left without a local table
    loses its Distributed table, and a new name gets one."""
    pairs = []
    for pair in pairs_sql.split(","):
        old, new = (p.strip() for p in re.split(r"\s+TO\s+", pair.strip()))
        _key(old), _key(new)
        pairs.append((old, new))
    olds, news = {o for o, _ in pairs}, {n for _, n in pairs}
    moves = ", ".join(f"{cluster.local(o)} TO {cluster.local(n)}" for o, n in pairs)
    out = [f"RENAME TABLE {moves} {cluster.on()}"]
    out += [f"DROP TABLE IF EXISTS {cluster.dist(t)} {cluster.on()}" for t in sorted(olds - news)]
    out += [_distributed_as_local(cluster, t, _key(t)) for t in sorted(news - olds)]
    return out


def _distributed_as_local(cluster: Cluster, table: str, key: str | None) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {cluster.dist(table)} {cluster.on()} AS {cluster.local(table)}\n"
        f"ENGINE = Distributed({cluster.name}, {cluster.database}, {table}{LOCAL}{f', {key}' if key else ''})"
    )


def truncate(cluster: Cluster, table: str) -> list[str]:
    """Empties a table on every shard (a Distributed table cannot be truncated)."""
    _key(table)
    return [f"TRUNCATE TABLE {cluster.local(table)} {cluster.on()}"]
