-- Issue #17: a credential may expire (`ribao token create --expires 90d`).
-- µs since the epoch, 0 for never (every credential made before this column).
ALTER TABLE credentials ADD COLUMN expires_us Int64 DEFAULT 0;
