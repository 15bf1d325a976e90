"""The benchmark's load is valid, and its preload path writes what ingest writes."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import orjson

from bench.loadgen import History, Region, live_events, probe_event
from bench.records import SOURCE, record_key, record_value
from schemas.records import to_micros
from services.ingest.acceptance import Acceptor
from services.ingest.config import DEV_HMAC_KEY, IngestSettings
from tests.unit.support import FixedClock, credential

ZONE = ZoneInfo("Asia/Shanghai")
VILLAGES = tuple(f"3701020010{i:02d}" for i in range(1, 31))
REGION = Region(
    "37", "山东省", 30, VILLAGES, ("420100000000", "420500000000"), ("110100000000",), "110101001001"
)
NOW = datetime.now(UTC)


def _acceptor(recorded_us: int) -> Acceptor:
    settings = IngestSettings(dev_mode=True, zero_report_window_days=40)
    known = frozenset(VILLAGES) | {"420100000000", "420500000000", "110100000000", "110101001001"}
    return Acceptor(settings, known, FixedClock(recorded_us))


def test_history_has_every_kind_and_ingest_accepts_it() -> None:
    history = History(REGION, 4000, 30, ZONE, NOW, seed=3)
    items = list(history)
    assert len(items) == history.summary.total
    assert set(history.summary.by_type) >= {
        "screening.registered",
        "isolation.started",
        "isolation.ended",
        "symptom.reported",
        "case.classified",
        "venue.closed",
        "venue.reopened",
        "checkpoint.tally",
        "report.zero",
    }
    # the whole history, posted now, is valid (raises InvalidEvents otherwise)
    _acceptor(to_micros(NOW)).prepare(
        [e for e, _ in items], [], credential(SOURCE, "000000000000", "admin"), lambda ids: {}
    )


def test_preload_records_are_what_ingest_writes() -> None:
    items = list(History(REGION, 3000, 30, ZONE, NOW, seed=4))
    items += [(e, to_micros(NOW)) for e in live_events(REGION, 300, NOW, ZONE, seed=5)]
    items.append((probe_event(REGION, 1, NOW, ZONE, "t"), to_micros(NOW)))
    seen_types = set()
    for event, recorded_us in items:
        prepared = (
            _acceptor(recorded_us)
            .prepare([event], [], credential(SOURCE, "000000000000", "admin"), lambda ids: {})
            .events[0]
        )
        assert record_key(event) == prepared.key
        ours = record_value(event, recorded_us, DEV_HMAC_KEY)
        assert orjson.loads(ours) == orjson.loads(prepared.value)
        seen_types.add(event["type"])
    assert len(seen_types) == 10
