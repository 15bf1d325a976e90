"""Rebuilding the counts from the stored fact rows (`ribao rebuild-counts`).

For a deployment that moves to the counting model (migration 011), after a
change of the focus areas, or to check the counts: empties the counts and the
snapshots, copies `facts` into `subject_facts` again, then recounts every
subject in chunks with the counting agent's own runner (each chunk one
ledger insert). Run it with the aggregator stopped: a recount running beside
it could emit a subject's deltas twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice

from services.aggregator.counting_runner import CountingRunner
from services.aggregator.counting_store import CountingStore
from services.common.clickhouse import client, migrations, truncate
from services.common.config import CommonSettings
from services.common.counting import Model

#: emptied first: everything the ledger files, and the counted facts (copied again)
TABLES = (
    "counts",
    "counts_exact",
    "counting_snapshots",
    "counting_intents",
    "subject_facts",
    "submissions",
    "submissions_exact",
    "submissions_until",
    "submissions_by_bucket",
    "submissions_stamps",
    "submissions_by_level",
)
#: the migrations whose last statement copies fact rows into `subject_facts`
COPIES = ("counts", "submissions")


def copy_sql() -> list[str]:
    """The copies of the counted fact rows: the last statements of migrations
    011 (what the figures count) and 014 (zero reports)."""
    return [m.statements[-1] for name in COPIES for m in migrations() if m.name == name]


SUBJECTS_SQL = "SELECT DISTINCT subject FROM subject_facts ORDER BY subject"
COUNT_SQL = "SELECT uniqExact(subject) FROM subject_facts"


@dataclass(frozen=True)
class RebuildStats:
    subjects: int
    deltas: int


def rebuild(
    settings: CommonSettings,
    chunk: int = 5000,
    progress: Callable[[int], None] = lambda _n: None,
    total: Callable[[int], None] = lambda _n: None,
) -> RebuildStats:
    """Empties and recomputes the counts; `total` gets the number of subjects
    once, `progress` each chunk's size."""
    ch = client(settings)
    for table in TABLES:
        truncate(settings, ch, table)
    for statement in copy_sql():
        ch.execute(statement)
    total(int(ch.execute(COUNT_SQL)[0][0]))
    runner = CountingRunner(CountingStore(settings), Model(settings.focus_area_list))
    reader = client(settings)
    names: Iterator[str] = (
        s for (s,) in reader.execute_iter(SUBJECTS_SQL, settings={"max_block_size": 65536})
    )
    subjects = deltas = 0
    while batch := list(islice(names, chunk)):
        stats = runner.recount(batch)
        subjects += stats.subjects
        deltas += stats.deltas
        progress(len(batch))
    return RebuildStats(subjects, deltas)
