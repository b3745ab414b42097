-- store_monitoring 1.1 -> 1.2. A fresh install chains 1.0, 1.0--1.1 and this
-- script. Released scripts are never edited: later changes go into a new
-- upgrade script.
\echo Use "ALTER EXTENSION store_monitoring UPDATE TO '1.2'" to load this file. \quit

-- A report reads the polls of its evidence range in heap order. Polls
-- arrive in time order, so a block-range index on timestamp_utc finds that
-- range's pages for a few kilobytes of index, where the B-tree index scan
-- visits the heap once per row (bench/README.md, "Where the time goes").
-- autosummarize: autovacuum summarizes each range of new polls once it is
-- full, so a live table keeps the index useful; unsummarized pages are
-- always read, so a report never misses a poll.
CREATE INDEX store_status_timestamp_utc_brin ON store_monitoring.store_status
    USING brin (timestamp_utc) WITH (pages_per_range = 32, autosummarize = on);
COMMENT ON INDEX store_monitoring.store_status_timestamp_utc_brin IS
    'Block ranges of timestamp_utc: the heap pages of a report''s evidence range';

-- 1.1 added this column without a comment, unlike its neighbours.
COMMENT ON COLUMN _store_monitoring_internal.report.progress_handle IS
    'The handle of the dynamic shared memory segment of the worker that last claimed the report (progress counters, cancel requests); readers trust the segment only while it names this report';
