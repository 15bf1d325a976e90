-- Bearer credentials (issue #6). Only the SHA-256 of a token's secret is kept;
-- the token itself is shown once, when created or rotated. Every change
-- (create, rotate, revoke) writes a new row with a higher version; the newest
-- row of a token_id is its state.
CREATE TABLE IF NOT EXISTS credentials (
    token_id String,
    name String,
    role String,
    scope String,
    secret_sha256 String,
    dev UInt8,
    created_us Int64,
    changed_us Int64,
    revoked_us Int64,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY token_id;
