-- Issue #13: a ledger row may stand for its place and every ancestor of it.
-- A subject whose events are all in one place (nearly every person, venue,
-- tally and zero report) changes the cells of each ancestor of that place
-- by the same deltas, and its submission rows are the same for each ancestor
-- too: the counting child filed them once per ancestor, 6 rows for one
-- (24.6 ledger rows an event on the bench's data, 98.7% of them copies);
-- building and sending the ledger rows was 31% of the aggregator's samples
-- in a py-spy profile (docs/design.md, "One ledger row for a place and its
-- ancestors"; the A/B in bench/results/fan-400k-*.md). Now such a change is one
-- row with `fan = 1`, and the views below file it for `place` and each of its
-- ancestors; a row with `fan = 0` counts for `place` alone, as before. The
-- ancestors of a 12-digit code are the distinct values of the code with its
-- last 3, 6, 8 and 10 digits zeroed, and the country (schemas/codes.py
-- `ancestors`; checked for every code of the registry, and by
-- tests/unit/test_codes.py). The tables the views
-- fill do not change, nor what they hold.
--
-- The ledger is made again (it holds nothing; an ALTER of its Null local table
-- is refused on a cluster, migration 014), and so are its views, with the
-- same names: views run in the order of their names, the snapshot's last
-- (migration 013). Run with the aggregator stopped, as every migration.
DROP TABLE IF EXISTS counts_exact_mv;
DROP TABLE IF EXISTS counts_mv;
DROP TABLE IF EXISTS counts_reporting_exact_at_mv;
DROP TABLE IF EXISTS counts_reporting_exact_mv;
DROP TABLE IF EXISTS counts_reporting_grouped_mv;
DROP TABLE IF EXISTS counts_reporting_level_mv;
DROP TABLE IF EXISTS counts_reporting_mv;
DROP TABLE IF EXISTS counts_reporting_until_mv;
DROP TABLE IF EXISTS counts_snapshots_mv;
DROP TABLE IF EXISTS counting_ledger;
CREATE TABLE IF NOT EXISTS counting_ledger (
    kind UInt8,
    place UInt64,
    fan UInt8,
    counter UInt16,
    bucket Int32,
    gap UInt8,
    t Int64,
    delta Int64,
    subject String,
    seq UInt64,
    event_ids Array(String),
    since Array(Int64),
    until Array(Int64),
    rec Int64
) ENGINE = Null;
CREATE MATERIALIZED VIEW IF NOT EXISTS counts_exact_mv TO counts_exact AS
SELECT arrayJoin(if(fan = 1, arrayDistinct([place, intDiv(place, 1000) * 1000, intDiv(place, 1000000) * 1000000,
        intDiv(place, 100000000) * 100000000, intDiv(place, 10000000000) * 10000000000, toUInt64(0)]), [place])) AS code,
    t, counter, bucket, gap, delta, cityHash64(subject, seq) AS batch
FROM counting_ledger WHERE kind = 0;
CREATE MATERIALIZED VIEW IF NOT EXISTS counts_mv TO counts AS
SELECT arrayJoin(if(fan = 1, arrayDistinct([place, intDiv(place, 1000) * 1000, intDiv(place, 1000000) * 1000000,
        intDiv(place, 100000000) * 100000000, intDiv(place, 10000000000) * 10000000000, toUInt64(0)]), [place])) AS code,
    counter, bucket, gap, toInt32(intDiv(t + 3599999999, 3600000000)) AS stamp_hour, delta,
    cityHash64(subject, seq) AS batch
FROM counting_ledger WHERE kind = 0;
CREATE MATERIALIZED VIEW IF NOT EXISTS counts_reporting_exact_at_mv TO submissions_stamps AS
SELECT DISTINCT t FROM counting_ledger WHERE kind = 2 AND counter IN (1, 3);
CREATE MATERIALIZED VIEW IF NOT EXISTS counts_reporting_exact_mv TO submissions_exact AS
SELECT arrayJoin(if(fan = 1, arrayDistinct([place, intDiv(place, 1000) * 1000, intDiv(place, 1000000) * 1000000,
        intDiv(place, 100000000) * 100000000, intDiv(place, 10000000000) * 10000000000, toUInt64(0)]), [place])) AS code,
    counter, bucket, t, rec, delta, cityHash64(subject, seq) AS batch
FROM counting_ledger WHERE kind = 2;
CREATE MATERIALIZED VIEW IF NOT EXISTS counts_reporting_grouped_mv TO submissions_by_bucket AS
SELECT counter, bucket,
    arrayJoin(if(fan = 1, arrayDistinct([place, intDiv(place, 1000) * 1000, intDiv(place, 1000000) * 1000000,
        intDiv(place, 100000000) * 100000000, intDiv(place, 10000000000) * 10000000000, toUInt64(0)]), [place])) AS code,
    toInt32(intDiv(t + 3599999999, 3600000000)) AS stamp_hour, delta, toUInt64(1) AS n,
    cityHash64(subject, seq) AS batch
FROM counting_ledger WHERE kind = 2 AND counter IN (1, 3);
CREATE MATERIALIZED VIEW IF NOT EXISTS counts_reporting_level_mv TO submissions_by_level AS
SELECT multiIf(code = 0, 0, modulo(code, 10000000000) = 0, 2, modulo(code, 100000000) = 0, 4,
        modulo(code, 1000000) = 0, 6, modulo(code, 1000) = 0, 9, 12) AS digits,
    counter, toUInt8(intDiv(code, 10000000000)) AS province, bucket,
    arrayJoin(if(fan = 1, arrayDistinct([place, intDiv(place, 1000) * 1000, intDiv(place, 1000000) * 1000000,
        intDiv(place, 100000000) * 100000000, intDiv(place, 10000000000) * 10000000000, toUInt64(0)]), [place])) AS code,
    rec, t, delta, cityHash64(subject, seq) AS batch
FROM counting_ledger WHERE kind = 2 AND counter IN (1, 2);
CREATE MATERIALIZED VIEW IF NOT EXISTS counts_reporting_mv TO submissions AS
SELECT arrayJoin(if(fan = 1, arrayDistinct([place, intDiv(place, 1000) * 1000, intDiv(place, 1000000) * 1000000,
        intDiv(place, 100000000) * 100000000, intDiv(place, 10000000000) * 10000000000, toUInt64(0)]), [place])) AS code,
    counter, bucket, toInt32(intDiv(rec, 60000000)) AS rec_minute,
    toInt32(intDiv(t + 3599999999, 3600000000)) AS stamp_hour, delta, cityHash64(subject, seq) AS batch
FROM counting_ledger WHERE kind = 2;
CREATE MATERIALIZED VIEW IF NOT EXISTS counts_reporting_until_mv TO submissions_until AS
SELECT arrayJoin(if(fan = 1, arrayDistinct([place, intDiv(place, 1000) * 1000, intDiv(place, 1000000) * 1000000,
        intDiv(place, 100000000) * 100000000, intDiv(place, 10000000000) * 10000000000, toUInt64(0)]), [place])) AS code,
    counter, bucket, rec, t, delta, cityHash64(subject, seq) AS batch
FROM counting_ledger WHERE kind = 2 AND t != rec;
CREATE MATERIALIZED VIEW IF NOT EXISTS counts_snapshots_mv TO counting_snapshots AS
SELECT subject, seq, event_ids, since, until FROM counting_ledger WHERE kind = 1;
