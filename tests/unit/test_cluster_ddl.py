"""The migrations' cluster form (services/common/cluster_ddl.py): every
statement has one, each table is sharded by columns of its ORDER BY key (the
rows a merge collapses stay on one shard), the ledger by subject, and every
statement parses on a current ClickHouse (chdb); the 18.16 server runs them in
tests/integration/test_cluster_figures.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.common import cluster_ddl
from services.common.clickhouse import migrations
from services.common.cluster_ddl import SHARD_KEYS, Cluster, ClusterDDLError, rewrite, truncate

CLUSTER = Cluster("ribao", "ribao_db")


def every_statement() -> list[str]:
    base = (
        "CREATE TABLE IF NOT EXISTS schema_migrations (version UInt32, name String, applied_us Int64) "
        "ENGINE = ReplacingMergeTree ORDER BY version"
    )
    return [base] + [s for m in migrations() for s in m.statements]


def test_every_migration_statement_has_a_cluster_form() -> None:
    for statement in every_statement():
        out = rewrite(CLUSTER, statement)
        for each in out:
            assert "ON CLUSTER ribao" in each or each.startswith("INSERT INTO"), each


def test_each_table_is_sharded_by_columns_of_its_order_by_key() -> None:
    creates = [s for s in every_statement() if s.startswith("CREATE TABLE")]
    assert {re.match(r"CREATE TABLE IF NOT EXISTS (\w+)", s)[1] for s in creates} <= set(SHARD_KEYS)  # type: ignore[index]
    for statement in creates:
        name = re.match(r"CREATE TABLE IF NOT EXISTS (\w+)", statement)[1]  # type: ignore[index]
        key = SHARD_KEYS[name]
        order = re.search(r"ORDER BY \(?([\w, ]+)\)?", statement)
        if key is None:  # filed by a view on each shard, never inserted into
            assert "ENGINE = Null" not in statement
            continue
        key_columns = set(re.findall(r"\w+", key)) - {"cityHash64"}
        if order is None:  # the ledger keeps nothing: its rows go to their subject's shard
            assert "ENGINE = Null" in statement and all(f"{c} " in statement for c in key_columns), name
            continue
        assert key_columns <= {c.strip() for c in order[1].split(",")}, (name, key)


def test_the_ledger_and_what_it_files_are_sharded_by_subject() -> None:
    assert SHARD_KEYS["counting_ledger"] == SHARD_KEYS["counting_snapshots"] == "cityHash64(subject)"
    assert SHARD_KEYS["subject_facts"] == "cityHash64(subject)"
    views = [s for s in every_statement() if s.startswith("CREATE MATERIALIZED VIEW")]
    # migration 011, then 013 and 014 again (submission rows), 018, 019, and all 9 again in 020
    assert len(views) == 24
    for view in views:
        (out,) = rewrite(CLUSTER, view)
        # each shard files its own part of the ledger into its own tables
        assert "FROM ribao_db.counting_ledger_local" in out
        assert " TO ribao_db.count" in out or " TO ribao_db.submissions" in out
        assert re.search(r" TO ribao_db\.\w+_local AS", out), out


def test_create_becomes_a_replicated_local_table_and_a_distributed_one() -> None:
    local, dist = rewrite(CLUSTER, "CREATE TABLE IF NOT EXISTS credentials (token_id String, version UInt64) "
                                   "ENGINE = ReplacingMergeTree(version) ORDER BY token_id")  # fmt: skip
    assert local.startswith("CREATE TABLE IF NOT EXISTS ribao_db.credentials_local ON CLUSTER ribao")
    assert (
        "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/ribao_db/credentials_local', "
        "'{replica}', version) ORDER BY token_id" in local
    )
    assert dist.endswith("ENGINE = Distributed(ribao, ribao_db, credentials_local, cityHash64(token_id))")


def test_alter_changes_the_local_table_and_makes_the_distributed_one_again() -> None:
    out = rewrite(CLUSTER, "ALTER TABLE credentials ADD COLUMN expires_us Int64 DEFAULT 0")
    assert (
        out[0]
        == "ALTER TABLE ribao_db.credentials_local ON CLUSTER ribao ADD COLUMN expires_us Int64 DEFAULT 0"
    )
    assert out[1] == "DROP TABLE IF EXISTS ribao_db.credentials ON CLUSTER ribao"
    assert out[2].startswith(
        "CREATE TABLE IF NOT EXISTS ribao_db.credentials ON CLUSTER ribao AS ribao_db.credentials_local"
    )


def test_rename_moves_the_local_tables_and_keeps_a_distributed_table_per_name() -> None:
    out = rewrite(CLUSTER, "RENAME TABLE facts TO facts_old, facts_new TO facts")
    assert out[0] == (
        "RENAME TABLE ribao_db.facts_local TO ribao_db.facts_old_local, "
        "ribao_db.facts_new_local TO ribao_db.facts_local ON CLUSTER ribao"
    )
    assert out[1] == "DROP TABLE IF EXISTS ribao_db.facts_new ON CLUSTER ribao"
    assert out[2].startswith(
        "CREATE TABLE IF NOT EXISTS ribao_db.facts_old ON CLUSTER ribao AS ribao_db.facts_old_local"
    )


def test_optimize_is_left_to_merges_and_truncate_empties_each_shard() -> None:
    assert rewrite(CLUSTER, "OPTIMIZE TABLE facts FINAL") == []
    assert truncate(CLUSTER, "divisions") == ["TRUNCATE TABLE ribao_db.divisions_local ON CLUSTER ribao"]


def test_unknown_tables_and_statements_are_refused_by_name() -> None:
    with pytest.raises(ClusterDDLError, match="table hits: no sharding key"):
        rewrite(CLUSTER, "CREATE TABLE IF NOT EXISTS hits (x UInt8) ENGINE = MergeTree ORDER BY x")
    with pytest.raises(ClusterDDLError, match="no cluster form"):
        rewrite(CLUSTER, "DETACH TABLE facts")
    with pytest.raises(ClusterDDLError, match="engine Memory"):
        cluster_ddl.rewrite(CLUSTER, "CREATE TABLE IF NOT EXISTS facts (x UInt8) ENGINE = Memory")


def test_every_cluster_statement_parses_on_a_current_clickhouse(tmp_path: Path) -> None:
    from chdb import session

    s = session.Session(str(tmp_path / "chdb"))
    statements = [each for st in every_statement() for each in rewrite(CLUSTER, st)]
    statements += [cluster_ddl.create_database(CLUSTER), *truncate(CLUSTER, "divisions")]
    for statement in statements:
        ast = str(s.query(f"EXPLAIN AST {statement}", "TSV"))
        assert ast.strip(), statement
