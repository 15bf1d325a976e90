"""`ribao verify` against the real topic and archive, before and after
tampering with the archive."""

from __future__ import annotations

import subprocess
import uuid
from datetime import UTC, datetime

from schemas.records import EventRecord
from tests.integration.harness import Pipeline, poll, produce, wait_caught_up


def run_verify(p: Pipeline) -> subprocess.CompletedProcess[str]:
    return p.cli("verify")


def test_verify_reports_the_exact_offsets_that_differ(pipeline: Pipeline) -> None:
    p = pipeline
    records = [
        EventRecord.model_validate(
            {
                "recorded_at": datetime(2020, 3, 1, 1, i, tzinfo=UTC),
                "source": "test",
                "event": {
                    "event_id": str(uuid.uuid4()),
                    "type": "report.zero",
                    "jurisdiction": "341825100001",
                    "occurred_at": "2020-03-01T09:00:00+08:00",
                    "data": {"report_date": "2020-03-01"},
                },
            }
        )
        for i in range(5)
    ]
    produce(p.settings, records)
    wait_caught_up(p)
    clean = run_verify(p)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "archive matches the topic" in clean.stdout

    victim = str(records[2].event.event_id)
    row = p.query("SELECT * FROM events WHERE event_id = %(id)s", {"id": victim})
    partition, offset = p.query(
        "SELECT kafka_partition, kafka_offset FROM events WHERE event_id = %(id)s", {"id": victim}
    )[0]
    p.query("ALTER TABLE events DELETE WHERE event_id = %(id)s", {"id": victim})
    poll(
        lambda: p.query("SELECT count() FROM events WHERE event_id = %(id)s", {"id": victim}),
        lambda r: r[0][0] == 0,
        what="archived event deleted",
    )
    p.insert(
        "INSERT INTO events (event_id, kafka_partition, kafka_offset) VALUES", [("forged", partition, 10**9)]
    )
    try:
        tampered = run_verify(p)
        assert tampered.returncode == 1, tampered.stdout
        line = next(ln for ln in tampered.stdout.splitlines() if ln.split()[:1] == [str(partition)])
        assert f"missing {offset}..{offset}" in line and f"not in kafka {10**9}" in line
        assert "1 partition(s) differ" in tampered.stdout
    finally:
        p.query("ALTER TABLE events DELETE WHERE event_id = 'forged'")
        p.insert("INSERT INTO events VALUES", [tuple(row[0])])
