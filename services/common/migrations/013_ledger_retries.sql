-- Issue #15: a recount's deltas and snapshot filed safely on replicated tables.
-- One insert into counting_ledger is one insert per view, run in the order of
-- the views' names; a replicated insert can fail between them (a ZooKeeper
-- outage, a session lost mid-commit). So: (1) the snapshot's view is named to
-- run last (`counts_snapshots_mv`): a snapshot filed means its deltas were
-- filed; (2) every filed delta row carries `batch`, a hash of its subject and
-- the snapshot's sequence number: two different recounts never make identical
-- blocks, and a retried recount (the same subjects, the same snapshots) makes
-- exactly the blocks it made before, which a replicated table's insert
-- deduplication then drops. On one server (no deduplication) nothing changes
-- but the column. Run with the aggregator stopped, as every migration.
ALTER TABLE counts ADD COLUMN batch UInt64 DEFAULT 0;
ALTER TABLE counts_exact ADD COLUMN batch UInt64 DEFAULT 0;
DROP TABLE IF EXISTS counts_mv;
DROP TABLE IF EXISTS counts_exact_mv;
DROP TABLE IF EXISTS counting_snapshots_mv;
CREATE MATERIALIZED VIEW IF NOT EXISTS counts_mv TO counts AS
SELECT code, counter, bucket, gap, toInt32(intDiv(t + 3599999999, 3600000000)) AS stamp_hour, delta,
    cityHash64(subject, seq) AS batch
FROM counting_ledger WHERE kind = 0;
CREATE MATERIALIZED VIEW IF NOT EXISTS counts_exact_mv TO counts_exact AS
SELECT code, t, counter, bucket, gap, delta, cityHash64(subject, seq) AS batch
FROM counting_ledger WHERE kind = 0;
CREATE MATERIALIZED VIEW IF NOT EXISTS counts_snapshots_mv TO counting_snapshots AS
SELECT subject, seq, event_ids, since, until FROM counting_ledger WHERE kind = 1;
