-- store_monitoring 1.0 -> 1.1. A fresh install runs store_monitoring--1.0.sql
-- and then this script (PostgreSQL chains them), so there is one definition
-- of every object. Released scripts are never edited: later changes go into
-- a new upgrade script.
\echo Use "ALTER EXTENSION store_monitoring UPDATE TO '1.1'" to load this file. \quit

-----------------------------------------------------------------------------
-- Internals in a schema of their own
-----------------------------------------------------------------------------

-- Reports and internal functions leave the user-facing schema, so that the
-- usual GRANT ... ON ALL TABLES IN SCHEMA store_monitoring grants no path to
-- other roles' reports (the convention of TimescaleDB's _timescaledb_*).
-- CREATE SCHEMA fails if anyone pre-created it: its owner could otherwise
-- take over what the extension writes there as a superuser.
CREATE SCHEMA _store_monitoring_internal;
COMMENT ON SCHEMA _store_monitoring_internal IS
    'Internal state of the store_monitoring extension: not an API; read reports through the functions in schema store_monitoring';

ALTER TABLE store_monitoring.report SET SCHEMA _store_monitoring_internal;
ALTER TABLE store_monitoring.report_result SET SCHEMA _store_monitoring_internal;
ALTER FUNCTION store_monitoring._import_row() SET SCHEMA _store_monitoring_internal;
ALTER FUNCTION store_monitoring._triggered_in_this_transaction(text) SET SCHEMA _store_monitoring_internal;
ALTER FUNCTION store_monitoring._resume_orphaned_reports() SET SCHEMA _store_monitoring_internal;
ALTER FUNCTION store_monitoring._visible_report(text) SET SCHEMA _store_monitoring_internal;
GRANT USAGE ON SCHEMA _store_monitoring_internal TO PUBLIC;

-- The plpgsql bodies name the moved objects.
CREATE OR REPLACE FUNCTION store_monitoring.get_report(report_id text)
RETURNS TABLE (status text, csv text, as_of timestamptz, error text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r _store_monitoring_internal.report := _store_monitoring_internal._visible_report(report_id);
BEGIN
    IF r.status = 'Running' AND NOT _store_monitoring_internal._triggered_in_this_transaction(r.report_id) THEN
        PERFORM _store_monitoring_internal._resume_orphaned_reports();
    END IF;
    RETURN QUERY SELECT r.status, r.csv, r.as_of, r.error;
END
$$;

CREATE OR REPLACE FUNCTION store_monitoring.wait_report(report_id text,
                                                        timeout interval DEFAULT '5 minutes')
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r _store_monitoring_internal.report := _store_monitoring_internal._visible_report(report_id);
    deadline timestamptz;
    next_resume timestamptz := pg_catalog.clock_timestamp();
BEGIN
    IF timeout IS NULL OR timeout < interval '0' THEN
        RAISE EXCEPTION 'timeout must be a non-negative interval, not %', coalesce(timeout::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF r.status = 'Running' AND _store_monitoring_internal._triggered_in_this_transaction(r.report_id) THEN
        RAISE EXCEPTION 'report "%" was triggered in this transaction and cannot start before it commits',
            r.report_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Commit the transaction that called trigger_report(), then wait.';
    END IF;
    IF r.status = 'Running'
       AND pg_catalog.current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'wait_report() needs a READ COMMITTED transaction to see the report finish'
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    deadline := pg_catalog.clock_timestamp() + timeout;
    LOOP
        IF r.status <> 'Running' OR pg_catalog.clock_timestamp() >= deadline THEN
            RETURN r.status;
        END IF;
        IF pg_catalog.clock_timestamp() >= next_resume THEN
            PERFORM _store_monitoring_internal._resume_orphaned_reports();
            next_resume := pg_catalog.clock_timestamp() + interval '1 second';
        END IF;
        PERFORM pg_catalog.pg_sleep(0.02);
        r := _store_monitoring_internal._visible_report(report_id);
    END LOOP;
END
$$;

-- ==== insight (issue 11) ====

-- A store's timeline (src/core: ReportEngine::explain_store) from inputs
-- passed as arrays: reads no table, so anyone may call it (explain_store()
-- passes a store's recorded inputs; a user may try other inputs). hours_row
-- indexes the hours arrays (1-based).
CREATE FUNCTION store_monitoring.store_timeline(
    as_of timestamptz, max_extrapolation interval, interpolation text, time_zone text,
    day_of_week smallint[], start_time_local time[], end_time_local time[],
    poll_at timestamptz[], poll_active boolean[])
RETURNS TABLE (kind text, from_utc timestamptz, to_utc timestamptz, from_local timestamp,
               to_local timestamp, hours_row integer, poll_at timestamptz, poll_status text)
AS 'MODULE_PATHNAME', 'store_monitoring_store_timeline'
LANGUAGE C STABLE;
COMMENT ON FUNCTION store_monitoring.store_timeline(timestamptz, interval, text, text,
    smallint[], time[], time[], timestamptz[], boolean[]) IS
    'The timeline of one store for the given T, settings and inputs (business hours and polls as arrays; time_zone '''' for America/Chicago); reads no table';

-- Reads the report through report_rows() and list_reports() (so the caller
-- sees only what those show it), the store's inputs as the caller, now.
CREATE FUNCTION store_monitoring.explain_store(report_id text, store_id text)
RETURNS TABLE (kind text, from_utc timestamptz, to_utc timestamptz,
               from_local timestamp, to_local timestamp,
               day_of_week smallint, start_time_local time, end_time_local time,
               poll_at timestamptz, poll_status text, changed_since boolean)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    wanted_report CONSTANT text := explain_store.report_id;
    wanted_store CONSTANT text := explain_store.store_id;
    stored record;
    in_report boolean;
    settings record;
    zone text;
    dows smallint[];
    starts time[];
    ends time[];
    poll_times timestamptz[];
    poll_active boolean[];
    sums record;
    changed boolean;
BEGIN
    IF wanted_store IS NULL THEN
        RAISE EXCEPTION 'store_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- Raises "does not exist" or "not Complete" as report_rows() does.
    SELECT rr.* INTO stored FROM store_monitoring.report_rows(wanted_report) rr
    WHERE rr.store_id = wanted_store;
    in_report := FOUND;
    SELECT l.as_of, l.max_extrapolation, l.interpolation INTO settings
    FROM store_monitoring.list_reports() l WHERE l.report_id = wanted_report;

    SELECT z.timezone_str INTO zone FROM store_monitoring.store_timezone z
    WHERE z.store_id = wanted_store;
    SELECT array_agg(b.day_of_week ORDER BY b.day_of_week, b.start_time_local, b.end_time_local),
           array_agg(b.start_time_local ORDER BY b.day_of_week, b.start_time_local, b.end_time_local),
           array_agg(b.end_time_local ORDER BY b.day_of_week, b.start_time_local, b.end_time_local)
    INTO dows, starts, ends
    FROM store_monitoring.business_hours b WHERE b.store_id = wanted_store;
    SELECT array_agg(s.timestamp_utc), array_agg(s.status = 'active')
    INTO poll_times, poll_active
    FROM store_monitoring.store_status s
    WHERE s.store_id = wanted_store
      AND s.timestamp_utc BETWEEN settings.as_of - interval '168 hours' - settings.max_extrapolation
                              AND settings.as_of;
    IF NOT in_report AND zone IS NULL AND dows IS NULL
       AND NOT EXISTS (SELECT FROM store_monitoring.store_status s WHERE s.store_id = wanted_store) THEN
        RAISE EXCEPTION 'store "%" is not in the report', wanted_store
            USING ERRCODE = 'undefined_object';
    END IF;

    -- The intervals summed per window, in the report's units, computed as
    -- the report computes them (microseconds, then one division).
    SELECT
        sum(w.us) FILTER (WHERE t.kind = 'up' AND w.len = 1)::float8 / 60e6 AS up_h,
        sum(w.us) FILTER (WHERE t.kind = 'up' AND w.len = 24)::float8 / 3600e6 AS up_d,
        sum(w.us) FILTER (WHERE t.kind = 'up' AND w.len = 168)::float8 / 3600e6 AS up_w,
        sum(w.us) FILTER (WHERE t.kind IN ('down', 'unknown') AND w.len = 1)::float8 / 60e6 AS down_h,
        sum(w.us) FILTER (WHERE t.kind IN ('down', 'unknown') AND w.len = 24)::float8 / 3600e6 AS down_d,
        sum(w.us) FILTER (WHERE t.kind IN ('down', 'unknown') AND w.len = 168)::float8 / 3600e6 AS down_w
    INTO sums
    FROM store_monitoring.store_timeline(settings.as_of, settings.max_extrapolation,
        settings.interpolation, coalesce(zone, ''), dows, starts, ends,
        poll_times, poll_active) t
    CROSS JOIN LATERAL (
        SELECT len, (extract(epoch FROM
                   greatest(interval '0', t.to_utc - greatest(t.from_utc,
                            settings.as_of - len * interval '1 hour'))) * 1000000)::bigint AS us
        FROM (VALUES (1), (24), (168)) v(len)) w
    WHERE t.kind <> 'ignored_poll';
    changed := NOT in_report
        OR (coalesce(sums.up_h, 0), coalesce(sums.up_d, 0), coalesce(sums.up_w, 0),
            coalesce(sums.down_h, 0), coalesce(sums.down_d, 0), coalesce(sums.down_w, 0))
           IS DISTINCT FROM
           (stored.uptime_last_hour, stored.uptime_last_day, stored.uptime_last_week,
            stored.downtime_last_hour, stored.downtime_last_day, stored.downtime_last_week);
    IF changed THEN
        RAISE NOTICE 'the inputs of store "%" changed since the report: this timeline does not give its numbers',
            wanted_store;
    END IF;
    RETURN QUERY
    SELECT t.kind, t.from_utc, t.to_utc, t.from_local, t.to_local,
           dows[t.hours_row], starts[t.hours_row], ends[t.hours_row],
           t.poll_at, t.poll_status, changed
    FROM store_monitoring.store_timeline(settings.as_of, settings.max_extrapolation,
        settings.interpolation, coalesce(zone, ''), dows, starts, ends,
        poll_times, poll_active) WITH ORDINALITY t
    ORDER BY t.ordinality;
END
$$;
COMMENT ON FUNCTION store_monitoring.explain_store(text, text) IS
    'The timeline behind a store''s numbers in a complete report: closed/up/down/unknown intervals of the report''s week and the polls ignored because the store was closed, from the store''s current inputs; changed_since is true when they no longer give the report''s numbers';

-- Split from get_report()'s own CSV text (read as the caller, so with its
-- visibility rules), not from the stored numbers, so that
-- COPY (SELECT * FROM report_csv(id)) TO ... CSV HEADER rewrites it byte for
-- byte: COPY quotes a field exactly when it holds a comma, a quote, CR or LF,
-- as the report's CSV does (and a lone \. only in a one-column COPY).
CREATE FUNCTION store_monitoring.report_csv(report_id text)
RETURNS TABLE (store_id text, uptime_last_hour text, uptime_last_day text,
               uptime_last_week text, downtime_last_hour text, downtime_last_day text,
               downtime_last_week text)
AS 'MODULE_PATHNAME', 'store_monitoring_report_csv'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION store_monitoring.report_csv(text) IS
    'A complete report''s CSV as rows (store_id and the six values as text, exactly as in the CSV): \copy (SELECT * FROM store_monitoring.report_csv(id)) TO ''report.csv'' CSV HEADER writes get_report()''s CSV byte for byte';

-- Progress and cancellation. The worker keeps its report's progress and any
-- cancel request in a dynamic shared memory segment (the computing
-- transaction's writes stay invisible until it commits); the claim records
-- the segment's handle here.
ALTER TABLE _store_monitoring_internal.report ADD COLUMN progress_handle bigint;

DROP FUNCTION store_monitoring.list_reports();
-- The caller's reports (all of them for a superuser), oldest first.
CREATE FUNCTION store_monitoring.list_reports()
RETURNS TABLE (report_id text, status text, phase text, as_of timestamptz, report_time text,
               max_extrapolation interval, interpolation text, requested_at timestamptz,
               started_at timestamptz, finished_at timestamptz, attempts integer,
               store_count integer, worker_memory_kb bigint, error text, owner regrole,
               stores_done bigint, stores_total bigint)
AS 'MODULE_PATHNAME', 'store_monitoring_list_reports'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION store_monitoring.list_reports() IS
    'The caller''s reports (all for a superuser), oldest first; while a report computes, stores_done and stores_total count the stores computed and the stores read so far';

CREATE FUNCTION store_monitoring.cancel_report(report_id text)
RETURNS void
AS 'MODULE_PATHNAME', 'store_monitoring_cancel_report'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION store_monitoring.cancel_report(text) IS
    'Ends a Running report (queued or computing) Failed with the error "canceled by <role>"; for its owner or a superuser, others get "does not exist"';

-- The fleet per window, from report_rows() (so with its visibility rules and
-- whatever the storage). All durations in hours. A store counts in
-- stores_open when it has open time in the window; "whole window" means its
-- whole open time there: up (no downtime) or down (no uptime; unknown time
-- counts as down, as in the CSV); stores_no_evidence are the stores down
-- the whole window with all of it unknown (no poll within max_extrapolation
-- of any open instant), a subset of stores_down_whole_window. PL/pgSQL: its
-- body is checked when first called.
CREATE FUNCTION store_monitoring.fleet_summary(report_id text)
RETURNS TABLE (window_name text, stores bigint, stores_open bigint, open_hours double precision,
               uptime_hours double precision, downtime_hours double precision,
               unknown_hours double precision, uptime_share double precision,
               stores_up_whole_window bigint, stores_down_whole_window bigint,
               stores_no_evidence bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY
    WITH r AS MATERIALIZED (
        SELECT * FROM store_monitoring.report_rows(fleet_summary.report_id)),
    w AS (
        SELECT 1 AS n, r.uptime_last_hour / 60 AS up, r.downtime_last_hour / 60 AS down,
               r.unknown_last_hour / 60 AS unknown FROM r
        UNION ALL
        SELECT 2, r.uptime_last_day, r.downtime_last_day, r.unknown_last_day FROM r
        UNION ALL
        SELECT 3, r.uptime_last_week, r.downtime_last_week, r.unknown_last_week FROM r)
    SELECT v.name, count(w.n), count(*) FILTER (WHERE w.up + w.down > 0),
           coalesce(sum(w.up + w.down), 0), coalesce(sum(w.up), 0), coalesce(sum(w.down), 0),
           CASE WHEN bool_or(w.n IS NOT NULL AND w.unknown IS NULL) THEN NULL ELSE coalesce(sum(w.unknown), 0) END,
           sum(w.up) / nullif(sum(w.up + w.down), 0),
           count(*) FILTER (WHERE w.up + w.down > 0 AND w.down = 0),
           count(*) FILTER (WHERE w.up + w.down > 0 AND w.up = 0),
           CASE WHEN bool_or(w.n IS NOT NULL AND w.unknown IS NULL) THEN NULL
                ELSE count(*) FILTER (WHERE w.up + w.down > 0 AND w.up = 0 AND w.unknown = w.down)
           END
    FROM (VALUES (1, 'last_hour'), (2, 'last_day'), (3, 'last_week')) v(n, name)
    LEFT JOIN w ON w.n = v.n
    GROUP BY v.n, v.name
    ORDER BY v.n;
END
$$;
COMMENT ON FUNCTION store_monitoring.fleet_summary(text) IS
    'One row per window of a complete report: stores, stores open, open/up/down/unknown hours, uptime share, stores up or down their whole open time in the window, stores with no evidence at all (all open time unknown)';
