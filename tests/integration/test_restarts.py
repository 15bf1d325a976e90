"""Restarts: SIGKILL the aggregator in the middle of a stream, several times;
after the restarts every figure equals the reference over the records, so an
interrupted run ends where an uninterrupted one would (at-least-once delivery,
idempotent writes, offsets committed only after the writes)."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from services.common import reference
from services.common.windows import report_window
from tests.integration.eventgen import DAYS, bulk_records
from tests.integration.harness import Pipeline, produce, wait_caught_up

ZONE = ZoneInfo("Asia/Shanghai")
COUNTY = "341821"  # 郎溪县: its own county, untouched by the other tests
N = 12_000


def archived(p: Pipeline, county: str) -> int:
    rows = p.query(
        "SELECT uniqExact(event_id, recorded_us) FROM events WHERE jurisdiction LIKE %(c)s",
        {"c": county + "%"},
    )
    return int(rows[0][0])


def test_sigkill_of_the_aggregator_mid_stream_loses_and_doubles_nothing(pipeline: Pipeline) -> None:
    p = pipeline
    villages = [
        r[0]
        for r in p.query(
            "SELECT code FROM divisions WHERE level = 'village' AND code LIKE %(c)s ORDER BY code",
            {"c": COUNTY + "%"},
        )
    ]
    assert len(villages) > 50
    records = bulk_records(7, villages, N)
    distinct = len({(str(r.event.event_id), r.recorded_at) for r in records})

    # small batches so that the stream is still running when the kills come
    p.stop("aggregator")
    p.start("aggregator", RIBAO_BATCH_MAX="150", RIBAO_BATCH_WITHIN_S="0.05")
    produce(p.settings, records)
    at_kill: list[int] = []
    for fraction in (0.15, 0.45, 0.75):
        deadline = time.monotonic() + 120
        while archived(p, COUNTY) < fraction * distinct and time.monotonic() < deadline:
            time.sleep(0.05)
        at_kill.append(archived(p, COUNTY))
        p.stop("aggregator", kill=True)
        p.start("aggregator", RIBAO_BATCH_MAX="150", RIBAO_BATCH_WITHIN_S="0.05")
    wait_caught_up(p, timeout=300)
    status = Path(f"/proc/{p.procs['aggregator'].pid}/status").read_text()
    rss = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))
    print(f"aggregator resident memory {rss} kB after folding {distinct} records (state is in ClickHouse)")
    p.stop("aggregator")
    p.start("aggregator")

    assert len(at_kill) == 3 and at_kill[0] < distinct  # killed while the stream was running
    print(f"killed at {at_kill} of {distinct} archived versions")
    assert archived(p, COUNTY) == distinct  # every record archived, once per version
    code = COUNTY.ljust(12, "0")
    as_ofs = [records[N // 2].recorded_at, datetime(2030, 1, 1, tzinfo=ZONE)]
    for day in DAYS:
        for as_of in as_ofs:
            resp = p.get(
                "/v1/reports/daily", jurisdiction=COUNTY, date=day, as_of=as_of.isoformat(), children="true"
            )
            assert resp.status_code == 200, resp.text
            body = resp.json()
            window = report_window(date.fromisoformat(day), 24, ZONE)
            assert body["figures"] == reference.daily_figures(records, code, window, as_of), (day, as_of)
            for child in body["children"][:6]:
                want = reference.daily_figures(records, child["jurisdiction"]["code"], window, as_of)
                assert child["figures"] == want, (child["jurisdiction"]["code"], day, as_of)
            rep = reference.reporting_status(
                records, code, date.fromisoformat(day), window, window.end + timedelta(hours=2), as_of
            )
            assert body["reporting"]["status"] == rep.status
    assert body["figures"]["screened"]["cumulative"] > 100  # the comparison had substance
    # the auditor replay recomputes the same figures from the archive, chunk by chunk
    audit = p.get("/v1/audit/replay", jurisdiction=COUNTY, date=DAYS[1], limit="1").json()
    assert audit["differences"] == [] and audit["total_events"] > 5000  # more than one chunk
    window = report_window(date.fromisoformat(DAYS[1]), 24, ZONE)
    assert audit["figures"] == reference.daily_figures(records, code, window, datetime.now(ZONE))
