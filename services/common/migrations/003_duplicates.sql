-- Superseded versions: for an event_id accepted more than once, every version
-- but the first (earliest recorded_us, then smallest content hash). Figures
-- ignore these versions; conflict = 1 when the content differs from the first.
CREATE TABLE IF NOT EXISTS event_duplicates (
    event_id String,
    recorded_us Int64,
    content_hash String,
    first_recorded_us Int64,
    first_content_hash String,
    conflict UInt8,
    detected_us Int64
) ENGINE = ReplacingMergeTree
ORDER BY (event_id, recorded_us, content_hash);
