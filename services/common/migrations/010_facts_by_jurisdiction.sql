-- Issue #8: `facts` ordered by jurisdiction first. Every figure query reads one
-- subtree (a contiguous range of codes) and several kinds; with `kind` first,
-- ClickHouse 18.16 read every granule of those kinds (a village's report read
-- the whole table). Same columns and the same key columns, in a new order, so
-- identical rows still collapse (ReplacingMergeTree).
--
-- A copy and a rename: run it with the aggregator stopped (README, Upgrading).
-- Re-running it from its first statement after an interruption is safe, except
-- between the two renames of the RENAME (see README). Step 6 copies again the
-- rows of the old table: the rows the aggregator would have written during the
-- copy if it was not stopped; every other row is an identical duplicate, which
-- no figure counts twice (the queries are insensitive to unmerged duplicates,
-- as they are to a redelivered record) and the OPTIMIZE at the end removes.
DROP TABLE IF EXISTS facts_new;
CREATE TABLE IF NOT EXISTS facts_new (
    kind String,
    jurisdiction String,
    subject String,
    occurred_us Int64,
    recorded_us Int64,
    event_id String,
    attr String,
    origin String,
    value Int64
) ENGINE = ReplacingMergeTree
ORDER BY (jurisdiction, kind, subject, occurred_us, event_id, recorded_us, attr);
INSERT INTO facts_new (kind, jurisdiction, subject, occurred_us, recorded_us, event_id, attr, origin, value)
SELECT kind, jurisdiction, subject, occurred_us, recorded_us, event_id, attr, origin, value FROM facts;
DROP TABLE IF EXISTS facts_old;
RENAME TABLE facts TO facts_old, facts_new TO facts;
INSERT INTO facts (kind, jurisdiction, subject, occurred_us, recorded_us, event_id, attr, origin, value)
SELECT kind, jurisdiction, subject, occurred_us, recorded_us, event_id, attr, origin, value FROM facts_old;
DROP TABLE IF EXISTS facts_old;
OPTIMIZE TABLE facts FINAL;
