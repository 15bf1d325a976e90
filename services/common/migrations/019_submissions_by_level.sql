-- Issue #13: the 零报告 (contract section 5) from the submission rows the
-- aggregator maintains, not from the fact rows. It read the day's `facts` of
-- the subtree, but `facts` is ordered by jurisdiction: the PREWHERE looked at
-- every row of the subtree's history to find the day's, and the visibility
-- subqueries read every duplicate and retraction ever stored (1,522 ms for
-- 山东's villages at 10 M events against 277 ms at 1 M).
-- This table holds the status rows (activity and zero reports: counters 1
-- and 2) of migration 014 once more, each exact with its stamp `t` and its
-- submission time `rec`, ordered by the level of their code (significant
-- digits), counter, province, bucket: the units of one level in one
-- subtree for one date are then the rows of W's buckets and of D, a day's,
-- whatever the history. Exact, not summed: a read as of T takes the rows
-- stamped <= T (services/api/zero_sql.py).
-- Its view is named to run before the snapshot's (views run in the order of
-- their names, migration 013). Run with the aggregator stopped, as every
-- migration; from its first statement again if it was interrupted (the
-- table is made again, and filled once).
DROP TABLE IF EXISTS counts_reporting_level_mv;
DROP TABLE IF EXISTS submissions_by_level;
CREATE TABLE IF NOT EXISTS submissions_by_level (
    digits UInt8,
    counter UInt16,
    province UInt8,
    bucket Int32,
    code UInt64,
    rec Int64,
    t Int64,
    delta Int64,
    batch UInt64
) ENGINE = MergeTree
ORDER BY (digits, counter, province, bucket, code, rec, t)
SETTINGS index_granularity = 1024;
CREATE MATERIALIZED VIEW IF NOT EXISTS counts_reporting_level_mv TO submissions_by_level AS
SELECT multiIf(code = 0, 0, modulo(code, 10000000000) = 0, 2, modulo(code, 100000000) = 0, 4,
        modulo(code, 1000000) = 0, 6, modulo(code, 1000) = 0, 9, 12) AS digits,
    counter, toUInt8(intDiv(code, 10000000000)) AS province, bucket, code, rec, t, delta,
    cityHash64(subject, seq) AS batch
FROM counting_ledger WHERE kind = 2 AND counter IN (1, 2);
-- the rows already filed
INSERT INTO submissions_by_level (digits, counter, province, bucket, code, rec, t, delta, batch)
SELECT multiIf(code = 0, 0, modulo(code, 10000000000) = 0, 2, modulo(code, 100000000) = 0, 4,
        modulo(code, 1000000) = 0, 6, modulo(code, 1000) = 0, 9, 12),
    counter, toUInt8(intDiv(code, 10000000000)), bucket, code, rec, t, delta, batch
FROM submissions_exact WHERE counter IN (1, 2)
