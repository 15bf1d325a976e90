"""`python -m bench reads`: what it takes from a kept run's results file, and
the replay line of its table."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from bench.reads import markdown, replay_target


def test_the_replay_target_is_the_runs_own(tmp_path: Path) -> None:
    results = tmp_path / "run.json"
    results.write_text(
        json.dumps(
            {
                "replay": {
                    "jurisdiction": "37",
                    "date": "2026-11-03",
                    "village_daily_during": {"village": "371502006004"},
                }
            }
        )
    )
    assert replay_target(results) == ("37", date(2026, 11, 3), "371502006004")
    results.write_text(json.dumps({"api": {}}))
    with pytest.raises(SystemExit, match="no replay stage"):
        replay_target(results)


def test_the_table_says_whether_the_village_during_the_replay_met_its_target() -> None:
    meta = {"events": 10, "started": "t", "cpus": 2, "loadavg_start": "0", "loadavg_end": "0"}
    during = {"village": "v", "n": 3, "p50_ms": 50.0, "p99_ms": 120.0, "max_ms": 130.0, "target_p99_ms": 100}
    r = {
        "meta": {**meta, "commit": "c", "command": "x", "database": "d", "results": "r"},
        "api": {"date": "2026-11-29", "views": []},
        "replay": {
            "jurisdiction": "37",
            "date": "2026-11-03",
            "events": 1000,
            "seconds": 2.0,
            "events_per_s": 500,
            "differences": 0,
            "village_daily_during": during,
        },
    }
    text = markdown(r)
    assert "1,000 events in 2.0 s (500 events/s), 0 differences" in text
    assert "p99 120.0 ms" in text and "**missed**" in text
