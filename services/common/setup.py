"""Preparing a stack for use: schema migrations, the events topic, the registry."""

from __future__ import annotations

from collections.abc import Callable
from itertools import islice

from services.common.clickhouse import client, migrate, truncate
from services.common.config import CommonSettings
from services.common.registry import read_divisions
from services.common.topics import ensure_dead_letter_topic, ensure_events_topic, ensure_subjects_topic

Report = Callable[[str], None]


def load_registry(settings: CommonSettings, report: Report = print, force: bool = False) -> int:
    """Loads the registry into ClickHouse `divisions`, unless it is there already
    (same number of codes) and `force` is off."""
    divisions = list(read_divisions(settings.registry_dir))
    ch = client(settings)
    have = ch.execute("SELECT count(), uniqExact(code) FROM divisions")[0]
    if have == (len(divisions), len(divisions)) and not force:
        report(f"registry: {len(divisions)} divisions already loaded")
        return 0
    truncate(settings, ch, "divisions")
    rows = iter((d.code, d.name, d.level, d.parent, d.valid_from, d.valid_to) for d in divisions)
    loaded = 0
    while chunk := list(islice(rows, 100_000)):
        ch.execute("INSERT INTO divisions (code, name, level, parent, valid_from, valid_to) VALUES", chunk)
        loaded += len(chunk)
        report(f"registry: {loaded}/{len(divisions)} divisions loaded")
    return loaded


def setup(settings: CommonSettings, report: Report = print) -> None:
    for migration in migrate(settings):
        report(f"clickhouse: applied migration {migration.version:03d}_{migration.name}")
    report(f"clickhouse: database {settings.clickhouse_database} is up to date")
    report(f"kafka: {ensure_events_topic(settings)}")
    report(f"kafka: {ensure_dead_letter_topic(settings)}")
    report(f"kafka: {ensure_subjects_topic(settings)}")
    load_registry(settings, report)
