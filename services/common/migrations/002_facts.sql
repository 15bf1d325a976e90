-- Figure facts: what the aggregator's fold derives from each event (kind = the
-- event type; attr = category, mode, reason, status, venue type, checkpoint
-- count name or report date; value = planned days or a checkpoint count),
-- ordered so that a jurisdiction and all its descendants are one contiguous
-- key range. Figures are counted from these rows at query time.
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
ORDER BY (kind, jurisdiction, subject, occurred_us, event_id, recorded_us, attr);
