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

-- ==== shards (issue 12) ====

-- A database whose shard table lists servers is a coordinator: its reports
-- are computed on the shards (each a postgres_fdw foreign server whose
-- database has store_monitoring and its own inputs) and merged here. Only
-- the extension's C code reads and writes these tables.
CREATE TABLE _store_monitoring_internal.shard (
    server   name PRIMARY KEY,
    added_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
-- The shard report each coordinator report started, so that a worker that
-- resumes the report waits for it instead of starting another.
CREATE TABLE _store_monitoring_internal.shard_report (
    report_id       text COLLATE "C" NOT NULL
        REFERENCES _store_monitoring_internal.report ON DELETE CASCADE,
    server          name NOT NULL,
    shard_report_id text NOT NULL,
    PRIMARY KEY (report_id, server)
);
ALTER TABLE _store_monitoring_internal.shard ENABLE ROW LEVEL SECURITY;
ALTER TABLE _store_monitoring_internal.shard_report ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON _store_monitoring_internal.shard, _store_monitoring_internal.shard_report
    FROM PUBLIC;
COMMENT ON TABLE _store_monitoring_internal.shard IS
    'The postgres_fdw servers this database''s reports are computed on (store_monitoring.add_shard)';
COMMENT ON TABLE _store_monitoring_internal.shard_report IS
    'For each report computed on shards, the report it started on each shard';
-- Which servers are shards is configuration: pg_dump keeps it.
SELECT pg_catalog.pg_extension_config_dump('_store_monitoring_internal.shard', '');

CREATE FUNCTION store_monitoring.add_shard(server name)
RETURNS void
AS 'MODULE_PATHNAME', 'store_monitoring_add_shard'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION store_monitoring.add_shard(name) IS
    'Makes this database a coordinator whose reports include the stores of this postgres_fdw server''s database (superuser or extension owner only)';

CREATE FUNCTION store_monitoring.remove_shard(server name)
RETURNS void
AS 'MODULE_PATHNAME', 'store_monitoring_remove_shard'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION store_monitoring.remove_shard(name) IS
    'Stops including this server''s stores in new reports (superuser or extension owner only)';

CREATE FUNCTION store_monitoring.shards()
RETURNS TABLE (server name, added_at timestamptz)
AS 'MODULE_PATHNAME', 'store_monitoring_shards'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION store_monitoring.shards() IS
    'The foreign servers whose stores reports in this database are computed on';

-- Called by a coordinator on every shard, as the mapped role: the newest poll
-- that role can see there (what report_time = ''latest'' means). It reads
-- with the caller's own privileges, so PUBLIC may execute it.
CREATE FUNCTION _store_monitoring_internal._latest_poll()
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'store_monitoring_latest_poll'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION _store_monitoring_internal._latest_poll() IS
    'The newest poll the caller can see (NULL without polls); called by a coordinator on its shards';
