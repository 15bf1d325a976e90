-- Issue #13: reporting status (contract section 5) in the counting model
-- (services/common/submissions.py): a report's status no longer reads the
-- day's fact rows of the whole subtree. Zero reports become subjects of their
-- own ("z:<event_id>"), and every recount files, in the same ledger insert as
-- its deltas and snapshot, its subjects' submission rows (ledger kind 2): per
-- ancestor, +1 at an event's `since` and -1 at its `until`, keyed by its
-- submission time `rec` (= since). Run with the aggregator stopped, then
-- `ribao rebuild-counts` (README, Upgrading).
--
-- The ledger gains the column `rec`. It is made again rather than altered: on
-- a cluster an ALTER ... ON CLUSTER of its non-replicated (Null) local table
-- is refused ("isn't replicated, but shard #2 is replicated"), and it holds
-- nothing, so its views go, it comes back with the column, and so do they
-- (the same views as migration 013).
DROP TABLE IF EXISTS counts_mv;
DROP TABLE IF EXISTS counts_exact_mv;
DROP TABLE IF EXISTS counts_snapshots_mv;
DROP TABLE IF EXISTS counting_ledger;
CREATE TABLE IF NOT EXISTS counting_ledger (
    kind UInt8,
    code UInt64,
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
CREATE MATERIALIZED VIEW IF NOT EXISTS counts_mv TO counts AS
SELECT code, counter, bucket, gap, toInt32(intDiv(t + 3599999999, 3600000000)) AS stamp_hour, delta,
    cityHash64(subject, seq) AS batch
FROM counting_ledger WHERE kind = 0;
CREATE MATERIALIZED VIEW IF NOT EXISTS counts_exact_mv TO counts_exact AS
SELECT code, t, counter, bucket, gap, delta, cityHash64(subject, seq) AS batch
FROM counting_ledger WHERE kind = 0;
CREATE MATERIALIZED VIEW IF NOT EXISTS counts_snapshots_mv TO counting_snapshots AS
SELECT subject, seq, event_ids, since, until FROM counting_ledger WHERE kind = 1;
-- submissions: the rows summed per (code, counter, bucket, minute of the
-- submission time, hour of the stamp rounded up). Code first: a report reads
-- its own codes' rows, contiguous (ordered by counter and bucket first, the
-- primary-key analysis of a read grew with the marks of W's buckets of every
-- code: 10 -> 20 ms from 1 M to 10 M events for a province). Small granules:
-- a read touches a few rows in each of several (counter, bucket) ranges.
CREATE TABLE IF NOT EXISTS submissions (
    code UInt64,
    counter UInt16,
    bucket Int32,
    rec_minute Int32,
    stamp_hour Int32,
    delta Int64,
    batch UInt64
) ENGINE = SummingMergeTree(delta)
ORDER BY (code, counter, bucket, rec_minute, stamp_hour)
SETTINGS index_granularity = 256;
-- submissions_exact: every row with its stamp: the rows stamped between an
-- as_of and the nearer whole hour, and the rows of the first minute.
CREATE TABLE IF NOT EXISTS submissions_exact (
    code UInt64,
    counter UInt16,
    bucket Int32,
    t Int64,
    rec Int64,
    delta Int64,
    batch UInt64
) ENGINE = MergeTree
ORDER BY (code, counter, bucket, t)
SETTINGS index_granularity = 256;
-- submissions_until: the rows stamped after their submission time (a
-- retraction's -1), by submission time: few.
CREATE TABLE IF NOT EXISTS submissions_until (
    code UInt64,
    counter UInt16,
    bucket Int32,
    rec Int64,
    t Int64,
    delta Int64,
    batch UInt64
) ENGINE = MergeTree
ORDER BY (code, counter, bucket, rec)
SETTINGS index_granularity = 256;
-- submissions_by_bucket: the activity and own zero-report rows summed per
-- (counter, bucket, code, stamp hour), for the contradiction check, which
-- looks up one day's zero-reporting codes of a subtree: ordered by bucket
-- first, so the codes it looks up in one bucket share granules. `n` counts
-- the rows summed: a key whose rows cancel stays, so the check can tell
-- which codes have rows stamped in the hour around an as_of. (Summing every
-- number column: `batch` too, which only matters to an insert.)
CREATE TABLE IF NOT EXISTS submissions_by_bucket (
    counter UInt16,
    bucket Int32,
    code UInt64,
    stamp_hour Int32,
    delta Int64,
    n UInt64,
    batch UInt64
) ENGINE = SummingMergeTree
ORDER BY (counter, bucket, code, stamp_hour)
SETTINGS index_granularity = 256;
-- The views run in the order of their names, the snapshot's last (migration 013).
CREATE MATERIALIZED VIEW IF NOT EXISTS counts_reporting_mv TO submissions AS
SELECT code, counter, bucket, toInt32(intDiv(rec, 60000000)) AS rec_minute,
    toInt32(intDiv(t + 3599999999, 3600000000)) AS stamp_hour, delta, cityHash64(subject, seq) AS batch
FROM counting_ledger WHERE kind = 2;
CREATE MATERIALIZED VIEW IF NOT EXISTS counts_reporting_grouped_mv TO submissions_by_bucket AS
SELECT counter, bucket, code, toInt32(intDiv(t + 3599999999, 3600000000)) AS stamp_hour, delta,
    toUInt64(1) AS n, cityHash64(subject, seq) AS batch
FROM counting_ledger WHERE kind = 2 AND counter IN (1, 3);
CREATE MATERIALIZED VIEW IF NOT EXISTS counts_reporting_exact_mv TO submissions_exact AS
SELECT code, counter, bucket, t, rec, delta, cityHash64(subject, seq) AS batch
FROM counting_ledger WHERE kind = 2;
CREATE MATERIALIZED VIEW IF NOT EXISTS counts_reporting_until_mv TO submissions_until AS
SELECT code, counter, bucket, rec, t, delta, cityHash64(subject, seq) AS batch
FROM counting_ledger WHERE kind = 2 AND t != rec;
-- The zero reports already stored, as subjects (run with the aggregator
-- stopped); `ribao rebuild-counts` then counts them.
INSERT INTO subject_facts (subject, event_id, recorded_us, kind, jurisdiction, occurred_us, attr, origin, value)
SELECT concat('z:', event_id), event_id, recorded_us, kind, jurisdiction, occurred_us, attr, origin, value
FROM facts
WHERE kind = 'report.zero';
