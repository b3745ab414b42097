-- store_monitoring 1.3 -> 1.4. A fresh install chains 1.0, 1.0--1.1,
-- 1.1--1.2, 1.2--1.3 and this script. Released scripts are never edited:
-- later changes go into a new upgrade script.
\echo Use "ALTER EXTENSION store_monitoring UPDATE TO '1.4'" to load this file. \quit

-- ==== Worker locks: a report whose read meets a lock gives way ====
-- A worker does not wait for a lock held on a report's sources (or on
-- anything its read locks): it gives the report back, Running, to be
-- claimed again no earlier than retry_at, and fails it with the lock's
-- name once it has given way for store_monitoring.report_timeout.
ALTER TABLE _store_monitoring_internal.report
    ADD COLUMN lock_wait_since timestamptz,
    ADD COLUMN retry_at timestamptz;
COMMENT ON COLUMN _store_monitoring_internal.report.lock_wait_since IS
    'When the report first gave way to a lock its read met (NULL: never)';
COMMENT ON COLUMN _store_monitoring_internal.report.retry_at IS
    'A report that gave way to a lock is not claimed before this time';
