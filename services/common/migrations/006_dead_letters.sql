-- Records on the events topic that are not valid events (written there by
-- something other than ingest): kept with the reason, visible to auditors,
-- and skipped by the fold so that the stream goes on.
CREATE TABLE IF NOT EXISTS dead_letters (
    kafka_partition UInt32,
    kafka_offset Int64,
    record String,
    error String,
    detected_us Int64
) ENGINE = ReplacingMergeTree
ORDER BY (kafka_partition, kafka_offset);
