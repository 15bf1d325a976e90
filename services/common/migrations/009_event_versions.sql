-- The version index: one narrow row per archived version of an event
-- (id_key = the first 8 bytes of MD5(event_id) as a little-endian UInt64,
-- content_key = the first 8 bytes of its content hash likewise; see
-- services/aggregator/fold.py). The aggregator's version check looks up a
-- batch's ids here instead of in `events`: `events` is ordered by event_id,
-- so a batch of random UUIDs touched nearly every granule of it (all of its
-- event_id column, read per batch: 85 MB at 680k rows, linear in the
-- archive's size). This table's rows are 24 bytes, in granules of 256.
-- Only ids found here with more than one version are read from `events`.
CREATE TABLE IF NOT EXISTS event_versions (
    id_key UInt64,
    recorded_us Int64,
    content_key UInt64
) ENGINE = ReplacingMergeTree
ORDER BY (id_key, recorded_us, content_key)
SETTINGS index_granularity = 256;
-- The versions archived before this table existed (run with the aggregator
-- stopped, as every migration; a rerun rewrites identical rows, which collapse).
INSERT INTO event_versions (id_key, recorded_us, content_key)
SELECT
    reinterpretAsUInt64(MD5(event_id)),
    recorded_us,
    reinterpretAsUInt64(unhex(substring(content_hash, 1, 16)))
FROM events;
