-- store_monitoring 1.2 -> 1.3. A fresh install chains 1.0, 1.0--1.1,
-- 1.1--1.2 and this script. Released scripts are never edited: later changes
-- go into a new upgrade script.
\echo Use "ALTER EXTENSION store_monitoring UPDATE TO '1.3'" to load this file. \quit

-----------------------------------------------------------------------------
-- Applications
-----------------------------------------------------------------------------

-- trigger_report takes every setting a report records as an argument (NULL
-- or omitted: the session's setting), so that one statement needs no SET and
-- is safe behind any connection pooler. One function with defaults replaces
-- 1.1's (with both, every call would be ambiguous); 1.1's calls, positional
-- or named, mean the same.
DROP FUNCTION store_monitoring.trigger_report(timestamptz, text);
CREATE FUNCTION store_monitoring.trigger_report(as_of timestamptz DEFAULT NULL,
                                                label text DEFAULT NULL,
                                                max_extrapolation interval DEFAULT NULL,
                                                interpolation text DEFAULT NULL,
                                                report_time text DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'store_monitoring_trigger_report'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION store_monitoring.trigger_report(timestamptz, text, interval, text, text) IS
    'Queues a report for instant as_of (default: report_time, else store_monitoring.report_time) with an optional label; max_extrapolation, interpolation and report_time replace the settings of that name for this report; returns its id at once';

-- The status of a report without its results: what an application polls.
CREATE FUNCTION store_monitoring.report_status(report_id text)
RETURNS TABLE (status text, phase text, as_of timestamptz, as_of_text text, error text,
               requested_at timestamptz, started_at timestamptz, finished_at timestamptz,
               store_count integer)
AS 'MODULE_PATHNAME', 'store_monitoring_report_status'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION store_monitoring.report_status(text) IS
    'Status, phase, as_of (also as exact UTC text), error and times of a report the caller may see, without reading its results; no row for a NULL id';

-- One store's row at once, in the caller's transaction, from the caller's
-- own sources read as the caller: the row a report with the same T and
-- settings gives for that store. It reads only that store's rows.
CREATE FUNCTION store_monitoring.store_report(store_id text,
                                              as_of timestamptz DEFAULT NULL,
                                              max_extrapolation interval DEFAULT NULL,
                                              interpolation text DEFAULT NULL)
RETURNS TABLE (store_id text,
               uptime_last_hour double precision,
               uptime_last_day double precision,
               uptime_last_week double precision,
               downtime_last_hour double precision,
               downtime_last_day double precision,
               downtime_last_week double precision,
               unknown_last_hour double precision,
               unknown_last_day double precision,
               unknown_last_week double precision)
AS 'MODULE_PATHNAME', 'store_monitoring_store_report'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION store_monitoring.store_report(text, timestamptz, interval, text) IS
    'One store''s report row (the columns of report_rows()) computed now from the caller''s sources, for T = as_of (default: store_monitoring.report_time) and the given or current settings; no row for a store no source knows';
