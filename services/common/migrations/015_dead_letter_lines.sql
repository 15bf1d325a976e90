-- Issue #13: one Kafka record of the events topic holds the events of one
-- request bound for one partition, one per line (schemas/records.py), so a
-- dead letter is one line of a record: (partition, offset, line), the line
-- part of the key. A copy ordered so and a rename, as in migration 010; a
-- record written before holds one event, at line 0. Run with the aggregator
-- stopped, as every migration.
DROP TABLE IF EXISTS dead_letters_new;
CREATE TABLE IF NOT EXISTS dead_letters_new (
    kafka_partition UInt32,
    kafka_offset Int64,
    kafka_line UInt32,
    record String,
    error String,
    detected_us Int64
) ENGINE = ReplacingMergeTree
ORDER BY (kafka_partition, kafka_offset, kafka_line);
INSERT INTO dead_letters_new (kafka_partition, kafka_offset, kafka_line, record, error, detected_us)
SELECT kafka_partition, kafka_offset, 0, record, error, detected_us FROM dead_letters;
DROP TABLE IF EXISTS dead_letters_old;
RENAME TABLE dead_letters TO dead_letters_old, dead_letters_new TO dead_letters;
DROP TABLE IF EXISTS dead_letters_old;
