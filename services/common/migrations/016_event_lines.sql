-- Issue #13: an archived event's place on the topic is (partition, offset,
-- line): a Kafka record holds the events of one request bound for one
-- partition, one per line (schemas/records.py); a record written before
-- holds one event, at line 0. Run with the aggregator stopped, as every
-- migration.
ALTER TABLE events ADD COLUMN kafka_line UInt32 DEFAULT 0;
