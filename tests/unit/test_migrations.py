from __future__ import annotations

from pathlib import Path

from schemas.jsonschema import render
from services.common.clickhouse import migrations, split_statements
from services.common.config import REPO_DIR


def test_split_statements_drops_comments_and_blank_parts() -> None:
    sql = "-- a comment; with a semicolon\nCREATE TABLE a (x UInt8) ENGINE = Memory;\n\nSELECT 1;\n"
    assert split_statements(sql) == ("CREATE TABLE a (x UInt8) ENGINE = Memory", "SELECT 1")


def test_migrations_are_numbered_without_gaps_and_idempotent() -> None:
    found = migrations()
    assert [m.version for m in found] == list(range(1, len(found) + 1))
    for m in found:
        assert m.statements
        # a rebuild (copy and rename) may be re-run from its first statement,
        # which drops the half-built copy; every other statement is idempotent
        rebuild = m.statements[0].startswith("DROP TABLE IF EXISTS")
        for statement in m.statements:
            # a rerun after a partial failure must be harmless: CREATE ... IF NOT
            # EXISTS, ALTER ... IF (NOT) EXISTS, DROP ... IF EXISTS, or a
            # backfill INSERT ... SELECT into a ReplacingMergeTree table
            # (identical rows collapse); a rebuild's RENAME and OPTIMIZE are
            # rerun from the rebuild's first statement
            idempotent = (
                "IF NOT EXISTS" in statement
                or statement.startswith(("ALTER TABLE", "DROP TABLE IF EXISTS"))
                or (statement.startswith("INSERT INTO") and "SELECT" in statement)
            )
            restartable = rebuild and statement.startswith(("RENAME TABLE", "OPTIMIZE TABLE"))
            assert idempotent or restartable, (m.name, statement)


def test_facts_rebuild_keeps_the_key_columns() -> None:
    """Migration 10 reorders `facts` by jurisdiction first: the same key columns,
    so that identical rows still collapse, and the same columns."""
    by_name = {m.name: m for m in migrations()}
    old = next(s for s in by_name["facts"].statements if "ORDER BY" in s)
    new = next(s for s in by_name["facts_by_jurisdiction"].statements if "ORDER BY" in s)

    def key(statement: str) -> set[str]:
        return {c.strip() for c in statement.rsplit("ORDER BY", 1)[1].strip(" ()").split(",")}

    def columns(statement: str) -> list[str]:
        body = statement.split("(", 1)[1].split(") ENGINE", 1)[0]
        return [line.strip().rstrip(",") for line in body.splitlines() if line.strip()]

    assert key(new) == key(old)
    assert columns(new) == columns(old)
    assert "ORDER BY (jurisdiction," in new


def test_generated_json_schema_is_committed() -> None:
    path: Path = REPO_DIR / "schemas" / "events.v1.schema.json"
    assert path.read_text("utf-8") == render(), "run `ribao jsonschema`"
