"""Backup and restore of one ClickHouse database, run on the ClickHouse host.

Backup (`ribao backup DIR`): every MergeTree table is frozen (`ALTER TABLE …
FREEZE`: hard links of its active parts under the server's `shadow/N/`, in
milliseconds), then the frozen parts are copied to DIR/data/<table>/ and the
shadow folder removed; DIR/manifest.json holds each table's `CREATE`
statement (views after the tables they read and fill), its parts and their
rows (each part's count.txt). Writers may resume once the freeze step is done:
the copy reads only the hard links.

Restore (`ribao restore DIR`): into a database holding none of the backup's
tables, each table is created from its statement, its parts are copied into
its `detached/` folder (owned like the table's folder, i.e. by the server's
user) and attached one by one (`ALTER TABLE … ATTACH PART`); the rows attached
are checked against the manifest, part by part.

Both need the server's data folder (read for backup, written for restore):
run them on the ClickHouse host, as root or as the server's user. This is the
18.16 way (system.tables.data_path, one folder per table); on a current
ClickHouse use its own `BACKUP DATABASE … TO Disk(…)` / `RESTORE` instead
(docs/deploy.md). On a replicated shard, back up one replica per shard;
restore on one replica and the others fetch the attached parts.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from clickhouse_driver import Client
from clickhouse_driver.errors import ServerException

from services.common.clickhouse import client
from services.common.config import CommonSettings

Report = Callable[[str], None]
MANIFEST = "manifest.json"
FORMAT = 1
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: engines whose data is views over other tables (no parts of their own)
_VIEWS = ("MaterializedView", "View")


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class TableBackup:
    name: str
    engine: str
    create: str
    #: part folder name -> rows (count.txt)
    parts: dict[str, int] = field(default_factory=dict)
    bytes: int = 0

    @property
    def rows(self) -> int:
        return sum(self.parts.values())


@dataclass(frozen=True)
class Manifest:
    database: str
    server_version: str
    created: str
    tables: list[TableBackup]
    #: seconds the freeze step took (writers may resume after it) and the copy
    freeze_s: float = 0.0
    copy_s: float = 0.0
    format: int = FORMAT

    def write(self, folder: Path) -> None:
        (folder / MANIFEST).write_text(json.dumps(asdict(self), ensure_ascii=False, indent=1), "utf-8")

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        path = folder / MANIFEST
        if not path.is_file():
            raise BackupError(f"{path} not found: not a backup made by `ribao backup`")
        raw: dict[str, Any] = json.loads(path.read_text("utf-8"))
        if raw.get("format") != FORMAT:
            raise BackupError(f"{path}: format {raw.get('format')!r}, this ribao reads format {FORMAT}")
        tables = [TableBackup(**t) for t in raw.pop("tables")]
        return cls(tables=tables, **raw)


@dataclass(frozen=True)
class TableRestore:
    name: str
    parts: int
    rows_expected: int
    #: count() once attached (merges may later fold identical rows of a Replacing/Summing table)
    rows_now: int


def _ident(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise BackupError(f"table or database name {name!r} is not a plain identifier")
    return f"`{name}`"


def _tables(ch: Client, database: str) -> list[tuple[str, str, str]]:
    """(name, engine, data_path) of each table of the database."""
    try:
        rows = ch.execute(
            "SELECT name, engine, data_path FROM system.tables WHERE database = %(db)s ORDER BY name",
            {"db": database},
        )
    except ServerException as exc:
        if "data_path" in str(exc):
            raise BackupError(
                "this server has no system.tables.data_path (a current ClickHouse): "
                "use its own BACKUP DATABASE / RESTORE (docs/deploy.md)"
            ) from None
        raise
    return [(str(n), str(e), str(p)) for n, e, p in rows]


def _server_root(data_path: str) -> Path:
    """The server's `path` from a table's data_path (<path>/data/<db>/<table>/)."""
    root = Path(data_path).parents[2]
    if not (root / "data").is_dir():
        raise BackupError(
            f"the server's data folder {root} is not readable here: run on the ClickHouse host, "
            "as root or as the server's user"
        )
    return root


def _part_rows(part: Path) -> int:
    return int((part / "count.txt").read_text().strip())


def _folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def backup(settings: CommonSettings, dest: Path, report: Report = print) -> Manifest:
    """Freezes every MergeTree table of the database, copies the parts to `dest`
    (which must be empty or missing) and writes the manifest."""
    db = settings.clickhouse_database
    if dest.exists() and any(dest.iterdir()):
        raise BackupError(f"{dest} is not empty: give a new folder for each backup")
    ch = client(settings, database="system", timeout_s=600)
    tables = _tables(ch, db)
    if not tables:
        raise BackupError(f"database {db} has no tables (RIBAO_CLICKHOUSE_DATABASE?)")
    version = str(ch.execute("SELECT version()")[0][0])
    creates = {n: str(ch.execute(f"SHOW CREATE TABLE {_ident(db)}.{_ident(n)}")[0][0]) for n, _, _ in tables}

    started = time.perf_counter()
    frozen: dict[str, Path] = {}
    for name, engine, data_path in tables:
        if not engine.endswith("MergeTree"):
            continue
        root = _server_root(data_path)
        ch.execute(f"ALTER TABLE {_ident(db)}.{_ident(name)} FREEZE")
        increment = (root / "shadow" / "increment.txt").read_text().strip()
        shadow = root / "shadow" / increment
        source = shadow / Path(data_path).relative_to(root)
        # an empty table freezes nothing; a table with parts and no frozen folder: a FREEZE raced ours
        if not source.is_dir() and any(_is_part(p) for p in Path(data_path).iterdir()):
            raise BackupError(f"{name}: frozen parts not found under {shadow} (a concurrent FREEZE?)")
        frozen[name] = shadow
    freeze_s = time.perf_counter() - started
    report(f"backup: {len(frozen)} tables of {db} frozen in {freeze_s:.2f} s (writers may resume)")

    started = time.perf_counter()
    dest.mkdir(parents=True, exist_ok=True)
    out: list[TableBackup] = []
    for name, engine, data_path in _ordered(tables):
        parts: dict[str, int] = {}
        size = 0
        if name in frozen:
            shadow = frozen[name]
            source = shadow / Path(data_path).relative_to(_server_root(data_path))
            target = dest / "data" / name
            target.mkdir(parents=True)
            if source.is_dir():
                for part in sorted(p for p in source.iterdir() if _is_part(p)):
                    shutil.copytree(part, target / part.name)
                    parts[part.name] = _part_rows(part)
                size = _folder_bytes(target)
            if shadow.is_dir():  # an empty table leaves no shadow folder
                shutil.rmtree(shadow)
        out.append(TableBackup(name, engine, creates[name], parts, size))
        if name in frozen:
            report(f"backup: {name}: {len(parts)} parts, {sum(parts.values()):,} rows, {size:,} bytes")
    copy_s = time.perf_counter() - started
    manifest = Manifest(
        db,
        version,
        datetime.now(UTC).isoformat(timespec="seconds"),
        out,
        round(freeze_s, 3),
        round(copy_s, 3),
    )
    manifest.write(dest)
    report(f"backup: copied to {dest} in {copy_s:.2f} s")
    return manifest


def _is_part(path: Path) -> bool:
    return path.is_dir() and (path / "count.txt").is_file()


def _ordered(tables: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Tables first, then the views (a view's CREATE names the tables it reads and fills)."""
    return sorted(tables, key=lambda t: (t[1] in _VIEWS, t[0]))


def restore(
    settings: CommonSettings, source: Path, report: Report = print, schema_only: bool = False
) -> list[TableRestore]:
    """Creates the backup's tables in its database (which must hold none of
    them) and attaches their parts; checks every part was attached. With
    `schema_only`, only the tables: a new replica of a shard, whose replicated
    tables then fetch the shard's parts from the others."""
    manifest = Manifest.read(source)
    db = manifest.database
    ch = client(settings, database="system", timeout_s=600)
    ch.execute(f"CREATE DATABASE IF NOT EXISTS {_ident(db)}")
    present = {n for n, _, _ in _tables(ch, db)} & {t.name for t in manifest.tables}
    if present:
        raise BackupError(
            f"database {db} already has {', '.join(sorted(present))}: restore into a database "
            "without them (drop them first, after a backup of their own if they matter)"
        )
    started = time.perf_counter()
    for table in manifest.tables:
        ch.execute(table.create)
    if schema_only:
        report(f"restore: {len(manifest.tables)} tables of {db} created (schema only)")
        return []
    paths = {n: p for n, _, p in _tables(ch, db)}
    out: list[TableRestore] = []
    for table in manifest.tables:
        if not table.parts:
            continue
        data_path = Path(paths[table.name])
        detached = data_path / "detached"
        owner = data_path.stat()
        for part in table.parts:
            target = detached / part
            shutil.copytree(source / "data" / table.name / part, target)
            for path in [target, *target.rglob("*")]:
                os.chown(path, owner.st_uid, owner.st_gid)
        for part in table.parts:
            ch.execute(f"ALTER TABLE {_ident(db)}.{_ident(table.name)} ATTACH PART %(part)s", {"part": part})
        left = [p for p in table.parts if (detached / p).exists()]
        if left:
            raise BackupError(f"{table.name}: parts still detached after ATTACH: {', '.join(left)}")
        rows_now = int(ch.execute(f"SELECT count() FROM {_ident(db)}.{_ident(table.name)}")[0][0])
        out.append(TableRestore(table.name, len(table.parts), table.rows, rows_now))
        report(f"restore: {table.name}: {len(table.parts)} parts, {table.rows:,} rows attached")
    report(
        f"restore: {len(manifest.tables)} tables of {db} restored in {time.perf_counter() - started:.2f} s"
    )
    return out
