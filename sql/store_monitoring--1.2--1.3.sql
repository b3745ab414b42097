-- store_monitoring 1.2 -> 1.3. A fresh install chains 1.0, 1.0--1.1,
-- 1.1--1.2 and this script. Released scripts are never edited: later changes
-- go into a new upgrade script.
\echo Use "ALTER EXTENSION store_monitoring UPDATE TO '1.3'" to load this file. \quit

-- ==== queue: fair claims, per-role limits, costs that follow the caller ====

-- A role's own reports, newest first: list_reports() and latest_report()
-- read only the caller's rows, and the per-role limits of trigger_report()
-- (reports Running, space stored) count only that role's.
CREATE INDEX report_owner_idx ON _store_monitoring_internal.report (owner, requested_at);
CREATE INDEX report_owner_label_idx ON _store_monitoring_internal.report (owner, label, requested_at)
    WHERE label IS NOT NULL;
