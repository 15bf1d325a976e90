-- Issue #13: the stamps of the submission rows the contradiction check reads
-- one by one, ordered by stamp. The check sums the zero-reporting codes'
-- rows by the whole hour on the read's side of as_of, then reads the exact
-- rows between as_of and that hour for the codes with rows stamped in the
-- hour around it (services/api/reporting_sql.py, LATER_SQL). That exact read
-- costs about the same whether or not any row lies between as_of and the
-- hour: 110-170 ms for the 1,224 such villages of 山东 on the 1 M bench store,
-- reading granules of each code. A read as of now takes the side after
-- as_of, where nothing is stamped yet. This table says so in one range of its
-- key: every stamp `t` of an activity or own zero-report row (the rows that
-- read takes), each kept once. No row in (lo, hi] here: no such row there.
-- Its view is named to run before the one that files those rows
-- (`counts_reporting_exact_mv`, migration 014; views run in the order of their
-- names, migration 013): a stamp may be filed without its rows (the check
-- then reads them, and finds none), never the rows without their stamp.
-- Run with the aggregator stopped, as every migration.
CREATE TABLE IF NOT EXISTS submissions_stamps (
    t Int64
) ENGINE = ReplacingMergeTree
ORDER BY t;
CREATE MATERIALIZED VIEW IF NOT EXISTS counts_reporting_exact_at_mv TO submissions_stamps AS
SELECT DISTINCT t FROM counting_ledger WHERE kind = 2 AND counter IN (1, 3);
-- the stamps of the rows already filed
INSERT INTO submissions_stamps SELECT DISTINCT t FROM submissions_exact WHERE counter IN (1, 3)
