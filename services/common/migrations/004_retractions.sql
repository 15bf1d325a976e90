-- Retractions (更正), by target: the target leaves every figure as of the
-- retraction's recorded_us, whether the target arrived before or after it.
CREATE TABLE IF NOT EXISTS retractions (
    target_event_id String,
    recorded_us Int64,
    event_id String,
    reason String
) ENGINE = ReplacingMergeTree
ORDER BY (target_event_id, recorded_us, event_id);
