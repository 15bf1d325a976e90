-- The event archive: every record of the events topic, exactly as ingest wrote
-- it, with where it sits in the topic. A redelivered Kafka record (same
-- partition and offset) has the same key and collapses; every other record is
-- a row of its own, so the archive mirrors the topic offset for offset
-- (`ribao verify`). A resent event_id (a new recorded_at) is a new version,
-- kept for auditors (see event_duplicates).
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
ORDER BY (event_id, recorded_us, content_hash, kafka_partition, kafka_offset);
