-- Figure facts: what the aggregator's fold derives from each event, one row per
-- figure family the event feeds, ordered so that a jurisdiction and all its
-- descendants are one contiguous key range. Figures are counted from these
-- rows at query time (distinct subjects, as_of by recorded_us).
CREATE TABLE IF NOT EXISTS facts (
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
ORDER BY (kind, jurisdiction, subject, occurred_us, event_id, recorded_us);
