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
