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

-- ==== lifecycle (issue 10) ====

-- Each report is stored once: its results as one compact value (per store
-- the id and the exact microseconds of uptime, downtime and unknown time per
-- window; src/core/report_codec.hpp), from which get_report() renders the
-- CSV and report_rows() its rows. report.csv and report_result keep the
-- reports computed by 1.0, read as they were stored; nothing new goes there.
CREATE TABLE _store_monitoring_internal.report_output (
    report_id text COLLATE "C" PRIMARY KEY
        REFERENCES _store_monitoring_internal.report ON DELETE CASCADE,
    data      bytea NOT NULL
);
ALTER TABLE _store_monitoring_internal.report_output ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON _store_monitoring_internal.report_output FROM PUBLIC;
COMMENT ON TABLE _store_monitoring_internal.report_output IS
    'Results of complete reports, one compact value each (internal; read them through get_report and report_rows)';

-- Deleting a report (delete_report, purge_reports, retention, or a
-- superuser's DELETE) deletes its results in the same statement.
DELETE FROM _store_monitoring_internal.report_result rr
WHERE NOT EXISTS (SELECT FROM _store_monitoring_internal.report r
                  WHERE r.report_id OPERATOR(pg_catalog.=) rr.report_id);
ALTER TABLE _store_monitoring_internal.report_result
    ADD FOREIGN KEY (report_id) REFERENCES _store_monitoring_internal.report ON DELETE CASCADE;
COMMENT ON TABLE _store_monitoring_internal.report_result IS
    'Rows of reports computed by version 1.0 (internal; later reports are in report_output)';
COMMENT ON COLUMN _store_monitoring_internal.report.csv IS
    'CSV of reports computed by version 1.0; NULL for later reports, whose CSV is rendered from report_output';

-- Schedules name their reports.
ALTER TABLE _store_monitoring_internal.report ADD COLUMN label text
    CONSTRAINT label_is_1_to_63_bytes CHECK (pg_catalog.octet_length(label) BETWEEN 1 AND 63);
COMMENT ON COLUMN _store_monitoring_internal.report.label IS
    'The label given to trigger_report(), e.g. the name of a schedule';
CREATE INDEX report_label_idx ON _store_monitoring_internal.report (label, requested_at)
    WHERE label IS NOT NULL;
-- Retention and purges find finished reports by age.
CREATE INDEX report_finished_at_idx ON _store_monitoring_internal.report (finished_at)
    WHERE status <> 'Running';

-- trigger_report(as_of, label): one function with defaults replaces 1.0's
-- two (with both, every call would be ambiguous). as_of NULL or omitted:
-- store_monitoring.report_time decides.
DROP FUNCTION store_monitoring.trigger_report();
DROP FUNCTION store_monitoring.trigger_report(timestamptz);
CREATE FUNCTION store_monitoring.trigger_report(as_of timestamptz DEFAULT NULL,
                                                label text DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'store_monitoring_trigger_report'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION store_monitoring.trigger_report(timestamptz, text) IS
    'Queues a report for instant as_of (default: store_monitoring.report_time) with an optional label; returns its id at once';

-- Internal: the CSV of a report visible to the caller, rendered from its
-- stored results; NULL unless Complete. Callable by PUBLIC because
-- get_report() runs as its caller; it shows only what get_report may.
CREATE FUNCTION _store_monitoring_internal._report_csv(report_id text)
RETURNS text
AS 'MODULE_PATHNAME', 'store_monitoring_report_csv_text'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION _store_monitoring_internal._report_csv(text) IS
    'Internal: the CSV of a Complete report visible to the caller, rendered from its stored results';

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
    RETURN QUERY SELECT r.status,
                        CASE WHEN r.status = 'Complete'
                             THEN _store_monitoring_internal._report_csv(r.report_id) END,
                        r.as_of, r.error;
END
$$;

-- wait_report in C: it sleeps until the worker that ends the report wakes
-- it, instead of re-reading the report every 20 ms.
CREATE OR REPLACE FUNCTION store_monitoring.wait_report(report_id text,
                                                        timeout interval DEFAULT '5 minutes')
RETURNS text
AS 'MODULE_PATHNAME', 'store_monitoring_wait_report'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION store_monitoring.wait_report(text, interval) IS
    'Waits until the report is Complete or Failed, or timeout passes; returns its status';

-- report_rows gains the unknown part of downtime (its result type changes).
DROP FUNCTION store_monitoring.report_rows(text);
CREATE FUNCTION store_monitoring.report_rows(report_id text)
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
AS 'MODULE_PATHNAME', 'store_monitoring_report_rows'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION store_monitoring.report_rows(text) IS
    'The unrounded values of a Complete report (minutes for the hour, hours for day and week); unknown_* is the part of downtime_* with no poll within max_extrapolation (NULL for reports computed by version 1.0)';

-- list_reports: filters and a limit, newest first, with the label.
DROP FUNCTION store_monitoring.list_reports();
CREATE FUNCTION store_monitoring.list_reports(status text DEFAULT NULL,
                                              since timestamptz DEFAULT NULL,
                                              label text DEFAULT NULL,
                                              "limit" integer DEFAULT NULL)
RETURNS TABLE (report_id text, status text, phase text, as_of timestamptz, report_time text,
               max_extrapolation interval, interpolation text, requested_at timestamptz,
               started_at timestamptz, finished_at timestamptz, attempts integer,
               store_count integer, worker_memory_kb bigint, error text, owner regrole,
               label text)
AS 'MODULE_PATHNAME', 'store_monitoring_list_reports'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION store_monitoring.list_reports(text, timestamptz, text, integer) IS
    'The caller''s reports (all for a superuser), newest first; optionally only those with this status, requested at or after since, with this label, at most limit';

CREATE FUNCTION store_monitoring.delete_report(report_id text)
RETURNS void
AS 'MODULE_PATHNAME', 'store_monitoring_delete_report'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION store_monitoring.delete_report(text) IS
    'Deletes a finished report of the caller (any for a superuser) with its results';

CREATE FUNCTION store_monitoring.purge_reports(older_than interval)
RETURNS bigint
AS 'MODULE_PATHNAME', 'store_monitoring_purge_reports'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION store_monitoring.purge_reports(interval) IS
    'Deletes the caller''s reports (every role''s for a superuser) that finished more than older_than ago; returns how many';

CREATE FUNCTION store_monitoring.latest_report(label text)
RETURNS text
AS 'MODULE_PATHNAME', 'store_monitoring_latest_report'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION store_monitoring.latest_report(text) IS
    'The id of the newest Complete report with this label that the caller may read, or NULL';
-- The stored form is varints and front-coded ids, which pglz barely
-- shrinks (lz4: about a tenth): store it uncompressed, without trying.
ALTER TABLE _store_monitoring_internal.report_output ALTER COLUMN data SET STORAGE EXTERNAL;
