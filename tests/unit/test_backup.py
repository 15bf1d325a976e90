"""services/backup.py without a server: the manifest's round trip and its
refusals, the order statements are replayed in, names never spliced raw."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.backup import BackupError, Manifest, TableBackup, _ident, _ordered, _server_root


def manifest() -> Manifest:
    return Manifest(
        database="ribao",
        server_version="18.16.1",
        created="2026-11-30T05:00:00+00:00",
        tables=[
            TableBackup("counts", "SummingMergeTree", "CREATE TABLE ribao.counts (…)", {"all_1_1_0": 5}, 900),
            TableBackup("counts_mv", "MaterializedView", "CREATE MATERIALIZED VIEW ribao.counts_mv …"),
        ],
        freeze_s=0.1,
        copy_s=0.5,
    )


def test_the_manifest_reads_back_what_was_written(tmp_path: Path) -> None:
    m = manifest()
    m.write(tmp_path)
    back = Manifest.read(tmp_path)
    assert back == m
    assert back.tables[0].rows == 5 and back.tables[1].rows == 0


def test_a_folder_without_a_manifest_or_of_another_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match=r"manifest\.json not found"):
        Manifest.read(tmp_path)
    manifest().write(tmp_path)
    raw = json.loads((tmp_path / "manifest.json").read_text("utf-8"))
    (tmp_path / "manifest.json").write_text(json.dumps(raw | {"format": 99}), "utf-8")
    with pytest.raises(BackupError, match="format 99"):
        Manifest.read(tmp_path)


def test_views_are_created_after_every_table() -> None:
    tables = [
        ("counts_mv", "MaterializedView", ""),
        ("counting_ledger", "Null", ""),
        ("counts", "SummingMergeTree", ""),
        ("a_view", "View", ""),
    ]
    assert [t[0] for t in _ordered(tables)] == ["counting_ledger", "counts", "a_view", "counts_mv"]


@pytest.mark.parametrize("name", ["events; DROP TABLE x", "a`b", "", "1abc", "ev ents"])
def test_a_name_that_is_not_a_plain_identifier_is_refused(name: str) -> None:
    with pytest.raises(BackupError, match="not a plain identifier"):
        _ident(name)


def test_a_server_folder_not_visible_here_is_named(tmp_path: Path) -> None:
    (tmp_path / "data" / "ribao" / "events").mkdir(parents=True)
    assert _server_root(str(tmp_path / "data" / "ribao" / "events") + "/") == tmp_path
    with pytest.raises(BackupError, match="run on the ClickHouse host"):
        _server_root("/nowhere/clickhouse/data/ribao/events/")


class _CurrentServer:
    """A client of a current ClickHouse as far as `_tables` sees it: its
    system.tables has `data_paths`, and the server says so (the message
    chdb 4.4 / ClickHouse 26.9 gives)."""

    def execute(self, sql: str, params: dict[str, str]) -> list[tuple[str, str, str]]:
        from clickhouse_driver.errors import ServerException

        raise ServerException(
            "Code: 47. DB::Exception: Unknown expression identifier `data_path`. "
            "Maybe you meant: ['data_paths'].",
            code=47,
        )


def test_a_current_server_is_sent_to_its_own_backup() -> None:
    from services.backup import _tables

    with pytest.raises(BackupError, match="BACKUP DATABASE"):
        _tables(_CurrentServer(), "ribao")
