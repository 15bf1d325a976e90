-- Issue #13: a recount's write-ahead intent. Before each ledger insert the
-- counting agent files, for every subject the insert changes, the snapshot
-- the insert leads to, its sequence number and the insert's id. A subject
-- whose newest intent is ahead of its snapshot has an insert that failed,
-- perhaps part-way through the ledger's views (migration 013); whoever
-- recounts it next, in this process or another (the partition moved, the
-- worker was killed), first writes that insert again from the intents of its
-- id: the very blocks, dropped where they went in. One row per subject is
-- kept (the newest intent) once parts merge; the intents of one insert are
-- found by its id. Run with the aggregator stopped, as every migration.
CREATE TABLE IF NOT EXISTS counting_intents (
    subject String,
    seq UInt64,
    insert_id UInt64,
    event_ids Array(String),
    since Array(Int64),
    until Array(Int64)
) ENGINE = ReplacingMergeTree(seq)
ORDER BY subject
SETTINGS index_granularity = 1024;
