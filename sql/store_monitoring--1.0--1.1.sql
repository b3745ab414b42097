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

-- ==== security (issue 7) ====

-- list_reports() says why a queued report waits (waiting_for). A new output
-- column changes the function's type, so it is dropped and created again.
DROP FUNCTION store_monitoring.list_reports();
CREATE FUNCTION store_monitoring.list_reports()
RETURNS TABLE (report_id text, status text, phase text, as_of timestamptz, report_time text,
               max_extrapolation interval, interpolation text, requested_at timestamptz,
               started_at timestamptz, finished_at timestamptz, attempts integer,
               store_count integer, worker_memory_kb bigint, error text, owner regrole,
               waiting_for text)
AS 'MODULE_PATHNAME', 'store_monitoring_list_reports'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION store_monitoring.list_reports() IS
    'The reports the caller may see (all for a superuser), oldest first; waiting_for says what a queued report waits for';

-- The import views insert as the role that loads, never as their owner.
COMMENT ON VIEW store_monitoring.store_status_import IS
    'Strict loading into store_status: every column as text, checked, then inserted with the privileges of the inserting role (needs INSERT on this view and on store_status)';
COMMENT ON VIEW store_monitoring.business_hours_import IS
    'Strict loading into business_hours: every column as text, checked, then inserted with the privileges of the inserting role (needs INSERT on this view and on business_hours)';
COMMENT ON VIEW store_monitoring.store_timezone_import IS
    'Strict loading into store_timezone: every column as text, checked, then inserted with the privileges of the inserting role (needs INSERT on this view and on store_timezone)';
COMMENT ON COLUMN _store_monitoring_internal.report.worker_memory_kb IS
    'Private memory of the worker (kB) at its peak during the report, the writing of the result included';
