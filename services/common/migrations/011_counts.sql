-- Issue #13: the counts the aggregator maintains (services/common/counting.py,
-- docs/design.md "The counting model").
--
-- subject_facts: the fact rows of every counted subject (a person "p:<pseudonym>",
-- a venue "v:<jurisdiction>/<venue id>", a checkpoint tally "t:<event_id>"),
-- one per version, ordered by subject: the aggregator reads a subject's rows to
-- recompute its contribution. Redelivered rows are identical and collapse.
CREATE TABLE IF NOT EXISTS subject_facts (
    subject String,
    event_id String,
    recorded_us Int64,
    kind String,
    jurisdiction String,
    occurred_us Int64,
    attr String,
    origin String,
    value Int64
) ENGINE = ReplacingMergeTree
ORDER BY (subject, event_id, recorded_us, attr)
SETTINGS index_granularity = 1024;
-- The ledger: each write of the counting agent is ONE insert here (one block),
-- holding its deltas (kind 0) and the new snapshot of every subject it
-- recomputed (kind 1), so the deltas and the snapshot they lead to are
-- written together or not at all. The table keeps nothing; the views below
-- file its rows.
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
    until Array(Int64)
) ENGINE = Null;
-- counts: the deltas summed per (code, counter, occurred hour, gap, hour of
-- the stamp rounded up): the rows stamped <= a whole hour S are those with
-- stamp_hour <= S. Summed by merges; a key whose deltas sum to 0 disappears.
CREATE TABLE IF NOT EXISTS counts (
    code UInt64,
    counter UInt16,
    bucket Int32,
    gap UInt8,
    stamp_hour Int32,
    delta Int64
) ENGINE = SummingMergeTree(delta)
ORDER BY (code, counter, bucket, gap, stamp_hour);
CREATE MATERIALIZED VIEW IF NOT EXISTS counts_mv TO counts AS
SELECT code, counter, bucket, gap, toInt32(intDiv(t + 3599999999, 3600000000)) AS stamp_hour, delta
FROM counting_ledger WHERE kind = 0;
-- counts_exact: every delta with its exact stamp, ordered by (code, stamp): the
-- deltas stamped between an as_of and the nearer whole hour.
CREATE TABLE IF NOT EXISTS counts_exact (
    code UInt64,
    t Int64,
    counter UInt16,
    bucket Int32,
    gap UInt8,
    delta Int64
) ENGINE = MergeTree
ORDER BY (code, t);
CREATE MATERIALIZED VIEW IF NOT EXISTS counts_exact_mv TO counts_exact AS
SELECT code, t, counter, bucket, gap, delta FROM counting_ledger WHERE kind = 0;
-- counting_snapshots: per subject, the events its emitted deltas count (ids,
-- standing version's recorded time, retraction time or 0) and a sequence
-- number; the newest sequence is the subject's state.
CREATE TABLE IF NOT EXISTS counting_snapshots (
    subject String,
    seq UInt64,
    event_ids Array(String),
    since Array(Int64),
    until Array(Int64)
) ENGINE = ReplacingMergeTree(seq)
ORDER BY subject
SETTINGS index_granularity = 1024;
CREATE MATERIALIZED VIEW IF NOT EXISTS counting_snapshots_mv TO counting_snapshots AS
SELECT subject, seq, event_ids, since, until FROM counting_ledger WHERE kind = 1;
-- The counted facts already stored (run with the aggregator stopped); then
-- `ribao rebuild-counts` computes the counts from them.
INSERT INTO subject_facts (subject, event_id, recorded_us, kind, jurisdiction, occurred_us, attr, origin, value)
SELECT
    multiIf(
        kind IN ('screening.registered', 'symptom.reported', 'isolation.started', 'isolation.ended',
                 'case.classified'), concat('p:', subject),
        kind IN ('venue.closed', 'venue.reopened'), concat('v:', subject),
        concat('t:', event_id)),
    event_id, recorded_us, kind, jurisdiction, occurred_us, attr, origin, value
FROM facts
WHERE kind != 'report.zero';
