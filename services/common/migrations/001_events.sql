-- The event archive: every accepted version of every event, exactly as ingest
-- wrote it to Kafka, with where it sits in the topic. A redelivered Kafka record
-- has the same key and collapses; a resent event_id (a new recorded_at) is a
-- new version, kept for auditors (see event_duplicates).
CREATE TABLE IF NOT EXISTS events (
    event_id String,
    recorded_us Int64,
    content_hash String,
    type String,
    jurisdiction String,
    occurred_us Int64,
    subject String,
    source String,
    record String,
    kafka_partition UInt32,
    kafka_offset Int64,
    archived_us Int64
) ENGINE = ReplacingMergeTree
ORDER BY (event_id, recorded_us, content_hash);
