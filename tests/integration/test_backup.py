"""`ribao backup` / `ribao restore` on the real ClickHouse: a database of the
test's own, made by the migrations and filled through the tables the
aggregator writes (the counting ledger fills counts, counts_exact and the
snapshots by their views), is backed up, dropped and restored with the same
rows and figures, and its views work again. Needs the server's data folder:
run on the ClickHouse host (as `deploy/test.sh` does)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.backup import BackupError, Manifest, backup, restore
from services.common.clickhouse import client, migrate
from services.common.config import CommonSettings
from tests.integration.harness import require_services
from tests.integration.storefill import LEDGER, fill, ledger_rows

#: what the figures are read from, each before and after
FIGURES = [
    "SELECT code, counter, bucket, gap, stamp_hour, sum(delta) AS d FROM counts "
    "GROUP BY code, counter, bucket, gap, stamp_hour HAVING d != 0 "
    "ORDER BY code, counter, bucket, gap, stamp_hour",
    "SELECT code, t, counter, sum(delta) FROM counts_exact "
    "GROUP BY code, t, counter ORDER BY code, t, counter",
    "SELECT subject, argMax(event_ids, seq) FROM counting_snapshots GROUP BY subject ORDER BY subject",
    "SELECT event_id, recorded_us, type, jurisdiction, record FROM events ORDER BY event_id, recorded_us",
    "SELECT version FROM schema_migrations ORDER BY version",
]


@pytest.fixture
def store() -> Iterator[CommonSettings]:
    require_services(CommonSettings())
    settings = CommonSettings(clickhouse_database=f"ribao_test_backup_{uuid.uuid4().hex[:10]}")
    migrate(settings)
    try:
        yield settings
    finally:
        client(settings, database="default").execute(
            f"DROP DATABASE IF EXISTS {settings.clickhouse_database}"
        )


def figures(settings: CommonSettings) -> list[list[tuple[Any, ...]]]:
    ch = client(settings)
    return [list(ch.execute(sql)) for sql in FIGURES]


def test_backup_then_restore_gives_the_same_rows_and_figures(store: CommonSettings, tmp_path: Path) -> None:
    fill(store)
    before = figures(store)
    assert all(before), "every figure has rows"
    said: list[str] = []

    manifest = backup(store, tmp_path / "b", said.append)
    assert Manifest.read(tmp_path / "b") == manifest
    tables = {t.name: t for t in manifest.tables}
    assert tables["events"].rows == 800 and len(tables["events"].parts) >= 1
    assert tables["counts_exact"].rows == 1800  # (300 + 300 subjects) x 3 codes
    assert tables["counting_ledger"].parts == {} and tables["counts_mv"].engine == "MaterializedView"
    assert any("frozen" in line for line in said)
    shadow = Path(client(store, database="system").execute(
        "SELECT data_path FROM system.tables WHERE database = %(db)s AND name = 'events'",
        {"db": store.clickhouse_database},
    )[0][0]).parents[2] / "shadow"  # fmt: skip
    assert not any(store.clickhouse_database in str(p) for p in shadow.glob("*/data/*")), "shadow left behind"

    client(store, database="default").execute(f"DROP DATABASE {store.clickhouse_database}")
    restored = restore(store, tmp_path / "b", said.append)

    assert {r.name: r.rows_expected for r in restored} == {t.name: t.rows for t in manifest.tables if t.parts}
    assert figures(store) == before
    # the views were made again: the ledger still fills the counts
    client(store).execute(LEDGER, ledger_rows(range(900, 901), 1))
    assert len(figures(store)[1]) == len(before[1]) + 3


def test_a_schema_only_restore_makes_the_tables_without_rows(store: CommonSettings, tmp_path: Path) -> None:
    fill(store)
    manifest = backup(store, tmp_path / "b", lambda _m: None)
    client(store, database="default").execute(f"DROP DATABASE {store.clickhouse_database}")
    assert restore(store, tmp_path / "b", lambda _m: None, schema_only=True) == []
    tables = client(store).execute(
        "SELECT name FROM system.tables WHERE database = %(db)s ORDER BY name",
        {"db": store.clickhouse_database},
    )
    assert [t for (t,) in tables] == sorted(t.name for t in manifest.tables)
    assert client(store).execute("SELECT count() FROM events") == [(0,)]


def test_restore_refuses_a_database_that_has_the_tables(store: CommonSettings, tmp_path: Path) -> None:
    fill(store)
    backup(store, tmp_path / "b", lambda _m: None)
    with pytest.raises(BackupError, match=r"already has .*events"):
        restore(store, tmp_path / "b", lambda _m: None)
    with pytest.raises(BackupError, match="not empty"):
        backup(store, tmp_path / "b", lambda _m: None)
