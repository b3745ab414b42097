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

-- ==== schema hygiene (issue 8) ====

-----------------------------------------------------------------------------
-- Reading reports without internal functions
-----------------------------------------------------------------------------

-- get_report and wait_report in C (src/pg/report_read.cpp), with the same
-- results and errors as their plpgsql versions: they ran as the caller and
-- so needed the internal functions to be executable by everyone.
CREATE OR REPLACE FUNCTION store_monitoring.get_report(report_id text)
RETURNS TABLE (status text, csv text, as_of timestamptz, error text)
AS 'MODULE_PATHNAME', 'store_monitoring_get_report'
LANGUAGE C VOLATILE;

CREATE OR REPLACE FUNCTION store_monitoring.wait_report(report_id text,
                                                        timeout interval DEFAULT '5 minutes')
RETURNS text
AS 'MODULE_PATHNAME', 'store_monitoring_wait_report'
LANGUAGE C VOLATILE;

-----------------------------------------------------------------------------
-- DROP EXTENSION without CASCADE never drops input rows
-----------------------------------------------------------------------------

-- The default input tables are extension members (pg_dump keeps their rows as
-- configuration tables, and restore recreates them through CREATE EXTENSION),
-- and PostgreSQL drops members with the extension even under RESTRICT. So
-- DROP EXTENSION store_monitoring, and DROP OWNED BY the extension's owner,
-- without CASCADE are refused while those tables hold rows
-- (src/pg/drop_guard.cpp). Firing needs no EXECUTE privilege.
CREATE FUNCTION _store_monitoring_internal._refuse_drop_with_inputs()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'store_monitoring_refuse_drop_with_inputs'
LANGUAGE C;
COMMENT ON FUNCTION _store_monitoring_internal._refuse_drop_with_inputs() IS
    'Event trigger: refuses DROP EXTENSION store_monitoring (or DROP OWNED BY its owner) without CASCADE while the input tables hold rows';

CREATE EVENT TRIGGER store_monitoring_keep_inputs ON ddl_command_start
    WHEN TAG IN ('DROP EXTENSION', 'DROP OWNED')
    EXECUTE FUNCTION _store_monitoring_internal._refuse_drop_with_inputs();
COMMENT ON EVENT TRIGGER store_monitoring_keep_inputs IS
    'Keeps DROP EXTENSION store_monitoring without CASCADE from dropping input rows';

-----------------------------------------------------------------------------
-- Internals closed to PUBLIC
-----------------------------------------------------------------------------

-- Trigger and event trigger functions need no EXECUTE privilege to fire; the
-- others are called only by the extension's C code, so nobody needs the
-- schema either.
REVOKE EXECUTE ON FUNCTION _store_monitoring_internal._import_row(),
                           _store_monitoring_internal._triggered_in_this_transaction(text),
                           _store_monitoring_internal._resume_orphaned_reports(),
                           _store_monitoring_internal._visible_report(text),
                           _store_monitoring_internal._refuse_drop_with_inputs()
    FROM PUBLIC;
REVOKE USAGE ON SCHEMA _store_monitoring_internal FROM PUBLIC;

COMMENT ON FUNCTION _store_monitoring_internal._import_row() IS
    'Trigger of the *_import views: checks one text row strictly and inserts it into the base table';
COMMENT ON FUNCTION _store_monitoring_internal._triggered_in_this_transaction(text) IS
    'True when the report was triggered by the current, uncommitted transaction';
COMMENT ON FUNCTION _store_monitoring_internal._resume_orphaned_reports() IS
    'Starts a worker when a Running report has none';
COMMENT ON FUNCTION _store_monitoring_internal._visible_report(text) IS
    'The report row when the caller may see it, else the error of an unknown id';
COMMENT ON TABLE _store_monitoring_internal.report IS
    'One row per report; read it through get_report(), wait_report() and list_reports()';
COMMENT ON TABLE _store_monitoring_internal.report_result IS
    'The unrounded values of complete reports; read them through report_rows()';

-----------------------------------------------------------------------------
-- Comments on everything users see
-----------------------------------------------------------------------------

COMMENT ON SCHEMA store_monitoring IS
    'Store uptime and downtime reports: input tables, import views and report functions';
COMMENT ON TYPE store_monitoring.poll_status IS
    'Status of a store at a poll: active or inactive';

COMMENT ON TABLE store_monitoring.store_status IS
    'Polls: the status of a store at an instant (default input; belongs to the extension)';
COMMENT ON COLUMN store_monitoring.store_status.store_id IS
    'Store identifier, 1 to 255 bytes, compared byte by byte';
COMMENT ON COLUMN store_monitoring.store_status.status IS
    'active or inactive at timestamp_utc';
COMMENT ON COLUMN store_monitoring.store_status.timestamp_utc IS
    'Instant of the poll, 1970 to 2199';

COMMENT ON TABLE store_monitoring.business_hours IS
    'Opening intervals per store and local weekday; a store without rows is open all the time (default input; belongs to the extension)';
COMMENT ON COLUMN store_monitoring.business_hours.store_id IS
    'Store identifier, 1 to 255 bytes, compared byte by byte';
COMMENT ON COLUMN store_monitoring.business_hours.day_of_week IS
    'Local weekday: 0 = Monday ... 6 = Sunday';
COMMENT ON COLUMN store_monitoring.business_hours.start_time_local IS
    'Local opening time on day_of_week';
COMMENT ON COLUMN store_monitoring.business_hours.end_time_local IS
    'Local closing time; at or before start_time_local the interval runs past midnight';

COMMENT ON TABLE store_monitoring.store_timezone IS
    'IANA time zone per store; a store without a row uses America/Chicago (default input; belongs to the extension)';
COMMENT ON COLUMN store_monitoring.store_timezone.store_id IS
    'Store identifier, 1 to 255 bytes, compared byte by byte';
COMMENT ON COLUMN store_monitoring.store_timezone.timezone_str IS
    'IANA time-zone name known to the engine, such as America/New_York';

COMMENT ON VIEW store_monitoring.store_status_import IS
    'Strict loading into store_status: insert text; each value is checked, then the row is inserted as the view owner';
COMMENT ON COLUMN store_monitoring.store_status_import.store_id IS
    'Store identifier as text: 1 to 255 bytes of valid UTF-8, no control characters';
COMMENT ON COLUMN store_monitoring.store_status_import.status IS
    'active or inactive';
COMMENT ON COLUMN store_monitoring.store_status_import.timestamp_utc IS
    'Poll instant with an explicit zone or offset, such as 2023-01-22 12:09:39.388884 UTC';

COMMENT ON VIEW store_monitoring.business_hours_import IS
    'Strict loading into business_hours: insert text; each value is checked, then the row is inserted as the view owner';
COMMENT ON COLUMN store_monitoring.business_hours_import.store_id IS
    'Store identifier as text: 1 to 255 bytes of valid UTF-8, no control characters';
COMMENT ON COLUMN store_monitoring.business_hours_import.day_of_week IS
    'One digit 0 (Monday) to 6 (Sunday)';
COMMENT ON COLUMN store_monitoring.business_hours_import.start_time_local IS
    'Local time without offset, 00:00:00 to 24:00:00';
COMMENT ON COLUMN store_monitoring.business_hours_import.end_time_local IS
    'Local time without offset, 00:00:00 to 24:00:00';

COMMENT ON VIEW store_monitoring.store_timezone_import IS
    'Strict loading into store_timezone: insert text; each value is checked, then the row is inserted as the view owner';
COMMENT ON COLUMN store_monitoring.store_timezone_import.store_id IS
    'Store identifier as text: 1 to 255 bytes of valid UTF-8, no control characters';
COMMENT ON COLUMN store_monitoring.store_timezone_import.timezone_str IS
    'IANA time-zone name known to the engine';

COMMENT ON FUNCTION store_monitoring.check_time_zone(text) IS
    'True for a time zone the engine knows; otherwise an error naming it (CHECK of store_timezone)';
COMMENT ON FUNCTION store_monitoring.trigger_report() IS
    'Records a report for the instant store_monitoring.report_time names and returns its id; its worker starts at commit';
COMMENT ON FUNCTION store_monitoring.trigger_report(timestamptz) IS
    'Records a report for the instant as_of and returns its id; its worker starts at commit';
COMMENT ON FUNCTION store_monitoring.get_report(text) IS
    'Status (Running, Complete, Failed), CSV, as_of and error of a report the caller may see';
COMMENT ON FUNCTION store_monitoring.wait_report(text, interval) IS
    'Waits until the report is no longer Running or the timeout passes; returns its status';
COMMENT ON FUNCTION store_monitoring.report_rows(text) IS
    'The unrounded values of a complete report, one row per store, ordered like the CSV';
COMMENT ON FUNCTION store_monitoring.list_reports() IS
    'The reports the caller may see, oldest first';

-- ==== sources (issue 8) ====

-- The relations each role's reports read. A report reads the sources of the
-- role that triggers it, as that role: no role can point another role's
-- reports at a relation it controls (whose functions would run with the
-- other role's privileges). NULL: the extension's own table. regrole and
-- regclass columns dump and restore by name (pg_dump keeps this table).
CREATE TABLE _store_monitoring_internal.sources (
    role           regrole PRIMARY KEY,
    polls          regclass,
    business_hours regclass,
    time_zones     regclass,
    set_at         timestamptz NOT NULL
);
REVOKE ALL ON _store_monitoring_internal.sources FROM PUBLIC;
COMMENT ON TABLE _store_monitoring_internal.sources IS
    'Internal: the relations each role''s reports read (NULL: the default table); use store_monitoring.set_sources() and sources()';
SELECT pg_catalog.pg_extension_config_dump('_store_monitoring_internal.sources', '');

-- What each report read, recorded when it is triggered: the relations (the
-- worker reads these, also after a restart) and their names at that time.
ALTER TABLE _store_monitoring_internal.report
    ADD COLUMN source_relations oid[],
    ADD COLUMN sources text[];
UPDATE _store_monitoring_internal.report
   SET source_relations = ARRAY['store_monitoring.store_status'::regclass,
                                'store_monitoring.business_hours'::regclass,
                                'store_monitoring.store_timezone'::regclass]::oid[],
       sources = ARRAY['store_monitoring.store_status', 'store_monitoring.business_hours',
                       'store_monitoring.store_timezone'];
ALTER TABLE _store_monitoring_internal.report
    ALTER COLUMN source_relations SET NOT NULL,
    ALTER COLUMN sources SET NOT NULL;

CREATE FUNCTION store_monitoring.set_sources(polls regclass DEFAULT NULL,
                                             business_hours regclass DEFAULT NULL,
                                             time_zones regclass DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'store_monitoring_set_sources'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION store_monitoring.set_sources(regclass, regclass, regclass) IS
    'Chooses the relations the calling role''s reports read (NULL: the extension''s own table); checks their columns first';

CREATE FUNCTION store_monitoring.sources()
RETURNS TABLE (polls regclass, business_hours regclass, time_zones regclass)
AS 'MODULE_PATHNAME', 'store_monitoring_sources'
LANGUAGE C STABLE;
COMMENT ON FUNCTION store_monitoring.sources() IS
    'The relations the calling role''s reports read';

CREATE FUNCTION store_monitoring.check_sources()
RETURNS TABLE (relation regclass, store_id text, column_name text, value text, problem text)
AS 'MODULE_PATHNAME', 'store_monitoring_check_sources'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION store_monitoring.check_sources() IS
    'Every row of the calling role''s sources that a report would refuse (NULL, unknown status or zone, weekday outside 0-6, second zone row, empty or overlong store id)';

-- Internal, for tests: the statement a report runs to read a relation.
CREATE FUNCTION _store_monitoring_internal._source_query(input text, relation regclass)
RETURNS text
AS 'MODULE_PATHNAME', 'store_monitoring_source_query'
LANGUAGE C STRICT STABLE;
REVOKE EXECUTE ON FUNCTION _store_monitoring_internal._source_query(text, regclass) FROM PUBLIC;

-- list_reports() gains the sources each report read (a new last column).
DROP FUNCTION store_monitoring.list_reports();
CREATE FUNCTION store_monitoring.list_reports()
RETURNS TABLE (report_id text, status text, phase text, as_of timestamptz, report_time text,
               max_extrapolation interval, interpolation text, requested_at timestamptz,
               started_at timestamptz, finished_at timestamptz, attempts integer,
               store_count integer, worker_memory_kb bigint, error text, owner regrole,
               sources text[])
AS 'MODULE_PATHNAME', 'store_monitoring_list_reports'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION store_monitoring.list_reports() IS
    'The caller''s reports (all of them for a superuser), oldest first; sources are the polls, business-hours and time-zone relations each read';
