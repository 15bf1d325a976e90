"""`ribao rebuild-counts` recomputes, from the stored facts, exactly the counts
the aggregator maintained incrementally (and so the same figures)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from services.common import reference
from services.common.submissions import ZERO
from services.common.windows import report_window
from tests.integration.eventgen import DAYS, bulk_records, relabel
from tests.integration.harness import Pipeline, produce, wait_caught_up

ZONE = ZoneInfo("Asia/Shanghai")
#: the net sum of every counts key, the exact table's per stamp, and the same
#: of the submission rows (migration 014: zero reports among the subjects)
SUMS = [
    "SELECT code, counter, bucket, gap, stamp_hour, sum(delta) AS d FROM counts "
    "GROUP BY code, counter, bucket, gap, stamp_hour HAVING d != 0 "
    "ORDER BY code, counter, bucket, gap, stamp_hour",
    "SELECT code, t, counter, bucket, gap, sum(delta) AS d FROM counts_exact "
    "GROUP BY code, t, counter, bucket, gap HAVING d != 0 ORDER BY code, t, counter, bucket, gap",
    "SELECT code, counter, bucket, rec_minute, stamp_hour, sum(delta) AS d FROM submissions "
    "GROUP BY code, counter, bucket, rec_minute, stamp_hour HAVING d != 0 "
    "ORDER BY code, counter, bucket, rec_minute, stamp_hour",
    "SELECT code, counter, bucket, t, rec, sum(delta) AS d FROM submissions_exact "
    "GROUP BY code, counter, bucket, t, rec HAVING d != 0 ORDER BY code, counter, bucket, t, rec",
    "SELECT counter, bucket, code, stamp_hour, sum(delta) AS d FROM submissions_by_bucket "
    "GROUP BY counter, bucket, code, stamp_hour HAVING d != 0 ORDER BY counter, bucket, code, stamp_hour",
]


def test_rebuild_gives_the_counts_the_aggregator_maintained(pipeline: Pipeline) -> None:
    p = pipeline
    (town, villages) = p.query(
        "SELECT parent, groupArray(code) FROM divisions WHERE level = 'village' AND parent LIKE '5201%' "
        "GROUP BY parent HAVING count() >= 3 ORDER BY parent LIMIT 1"
    )[0]
    villages = sorted(villages)[:3]
    generated = bulk_records(7, villages, 600)
    records = relabel(generated, villages, villages)
    produce(p.settings, records, batch=50)
    wait_caught_up(p)
    before = [p.query(sql) for sql in SUMS]
    assert before[0], "the aggregator maintained counts"
    assert any(row[1] == ZERO for row in before[2]), "and zero reports' submission rows"

    p.stop("aggregator")
    try:
        done = p.cli("rebuild-counts", "--chunk", "100", timeout=300)
        assert done.returncode == 0, done.stderr
        assert "recounted" in done.stdout
    finally:
        p.start("aggregator")
    after = [p.query(sql) for sql in SUMS]
    assert after == before
    # and the figures and the reporting status are the reference's
    for day in DAYS:
        window = report_window(date.fromisoformat(day), 24, ZONE)
        for as_of in (datetime.now(UTC), records[len(records) // 2].recorded_at):
            got = p.get("/v1/reports/daily", jurisdiction=town, date=day, as_of=as_of.isoformat())
            assert got.status_code == 200, got.text
            want = reference.daily_figures(records, town, window, as_of)
            assert got.json()["figures"] == want, (day, as_of)
            status = reference.reporting_status(
                records, town, date.fromisoformat(day), window, window.end + timedelta(hours=2), as_of
            )
            reporting = got.json()["reporting"]
            assert reporting["status"] == status.status, (day, as_of)
            assert reporting["zero_report_contradicted"] == status.zero_report_contradicted, (day, as_of)
