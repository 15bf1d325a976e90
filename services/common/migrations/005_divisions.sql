-- The jurisdiction registry (统计用区划代码), loaded by `ribao setup`.
CREATE TABLE IF NOT EXISTS divisions (
    code String,
    name String,
    level String,
    parent String
) ENGINE = ReplacingMergeTree
ORDER BY code;
