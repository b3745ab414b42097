-- store_monitoring 1.0: tables, report API, settings live in the C module.
\echo Use "CREATE EXTENSION store_monitoring" to load this file. \quit

-- Every object is schema-qualified and every function pins its search_path, so
-- that nothing here can be redirected by a user's search_path.

-- CREATE EXTENSION installs into an existing schema store_monitoring whoever
-- owns it. Its owner could later rename it and put look-alike tables with
-- triggers in its place, which the C code, writing reports as a superuser,
-- would then fire. So a superuser must own the schema (CREATE EXTENSION
-- creates it so when it does not exist). Every operator here is qualified:
-- the schema may hold anyone's objects until this check passes.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_catalog.pg_namespace n
               JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) n.nspowner
               WHERE n.nspname OPERATOR(pg_catalog.=) 'store_monitoring'
                 AND NOT r.rolsuper) THEN
        RAISE EXCEPTION 'schema store_monitoring is not owned by a superuser'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Its owner could take over the extension''s objects. Drop the schema, '
                         'or make a superuser its owner, before CREATE EXTENSION store_monitoring.';
    END IF;
END
$$;

-----------------------------------------------------------------------------
-- Inputs
-----------------------------------------------------------------------------

CREATE TYPE store_monitoring.poll_status AS ENUM ('active', 'inactive');

-- Raises an error naming the value when the engine's time-zone database does
-- not know it; used by the CHECK constraint of store_timezone.
CREATE FUNCTION store_monitoring.check_time_zone(timezone_str text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'store_monitoring_check_time_zone'
LANGUAGE C STRICT STABLE PARALLEL SAFE;

-- store_id is byte-ordered text (COLLATE "C"): reports are ordered by bytes,
-- and the index below serves the worker's read in report order. It covers
-- status too, so that read is an index-only scan: sorted, streamed store by
-- store, without visiting the heap once autovacuum has marked pages visible.
CREATE TABLE store_monitoring.store_status (
    store_id      text COLLATE "C" NOT NULL
        CONSTRAINT store_id_is_1_to_255_bytes
        CHECK (pg_catalog.octet_length(store_id) BETWEEN 1 AND 255),
    status        store_monitoring.poll_status NOT NULL,
    timestamp_utc timestamptz NOT NULL
        CONSTRAINT timestamp_utc_is_between_1970_and_2200
        CHECK (timestamp_utc >= '1970-01-01 00:00:00+00'
               AND timestamp_utc < '2200-01-01 00:00:00+00')
);
CREATE INDEX store_status_store_id_timestamp_utc_idx
    ON store_monitoring.store_status (store_id, timestamp_utc) INCLUDE (status);
-- The newest poll (report_time = 'latest') in one index descent instead of a
-- scan of every poll; time-range queries and retention deletes use it too.
CREATE INDEX store_status_timestamp_utc_idx ON store_monitoring.store_status (timestamp_utc);

CREATE TABLE store_monitoring.business_hours (
    store_id         text COLLATE "C" NOT NULL
        CONSTRAINT store_id_is_1_to_255_bytes
        CHECK (pg_catalog.octet_length(store_id) BETWEEN 1 AND 255),
    day_of_week      smallint NOT NULL
        CONSTRAINT day_of_week_is_0_monday_to_6_sunday
        CHECK (day_of_week BETWEEN 0 AND 6),
    start_time_local time NOT NULL,
    end_time_local   time NOT NULL
);
CREATE INDEX business_hours_store_id_idx ON store_monitoring.business_hours (store_id);

CREATE TABLE store_monitoring.store_timezone (
    store_id     text COLLATE "C" NOT NULL PRIMARY KEY
        CONSTRAINT store_id_is_1_to_255_bytes
        CHECK (pg_catalog.octet_length(store_id) BETWEEN 1 AND 255),
    timezone_str text NOT NULL
        CONSTRAINT timezone_str_is_a_known_iana_zone
        CHECK (store_monitoring.check_time_zone(timezone_str))
);

-- The inputs are user data: pg_dump must keep them.
SELECT pg_catalog.pg_extension_config_dump('store_monitoring.store_status', '');
SELECT pg_catalog.pg_extension_config_dump('store_monitoring.business_hours', '');
SELECT pg_catalog.pg_extension_config_dump('store_monitoring.store_timezone', '');

-- Strict loading: one view per input table, every column text, in the order
-- of the table and of the public CSV files. Their INSTEAD OF INSERT trigger
-- (C, src/pg/import.cpp) refuses, naming the column and the value, what the
-- base types would accept silently or loosely: a poll time without an explicit
-- zone, a local time with a UTC offset, '24:00:01', a weekday not written as
-- one digit 0-6, a store id with control characters or invalid UTF-8. It then
-- inserts the typed row into the base table, whose constraints still apply,
-- as the view's owner: INSERT on a view is all a loader needs. Nothing is
-- granted to PUBLIC.
CREATE FUNCTION store_monitoring._import_row()
RETURNS trigger
AS 'MODULE_PATHNAME', 'store_monitoring_import_row'
LANGUAGE C;

CREATE VIEW store_monitoring.store_status_import AS
    SELECT s.store_id::text AS store_id, s.status::text AS status,
           s.timestamp_utc::text AS timestamp_utc
    FROM store_monitoring.store_status s;
CREATE TRIGGER import_row INSTEAD OF INSERT ON store_monitoring.store_status_import
    FOR EACH ROW EXECUTE FUNCTION store_monitoring._import_row('store_status');

CREATE VIEW store_monitoring.business_hours_import AS
    SELECT b.store_id::text AS store_id, b.day_of_week::text AS day_of_week,
           b.start_time_local::text AS start_time_local, b.end_time_local::text AS end_time_local
    FROM store_monitoring.business_hours b;
CREATE TRIGGER import_row INSTEAD OF INSERT ON store_monitoring.business_hours_import
    FOR EACH ROW EXECUTE FUNCTION store_monitoring._import_row('business_hours');

CREATE VIEW store_monitoring.store_timezone_import AS
    SELECT z.store_id::text AS store_id, z.timezone_str::text AS timezone_str
    FROM store_monitoring.store_timezone z;
CREATE TRIGGER import_row INSTEAD OF INSERT ON store_monitoring.store_timezone_import
    FOR EACH ROW EXECUTE FUNCTION store_monitoring._import_row('store_timezone');

-----------------------------------------------------------------------------
-- Reports
-----------------------------------------------------------------------------

-- One row per report. Written only by the extension's C code (as the table
-- owner); readers see their own reports through row-level security.
CREATE TABLE store_monitoring.report (
    report_id         text COLLATE "C" PRIMARY KEY,
    -- Key of the session advisory lock a worker holds while it owns the report;
    -- a Running report whose lock nobody holds has lost its worker.
    lock_key          bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    owner             oid NOT NULL,
    status            text NOT NULL DEFAULT 'Running'
        CHECK (status IN ('Running', 'Complete', 'Failed')),
    phase             text NOT NULL DEFAULT 'queued'
        CHECK (phase IN ('queued', 'computing', 'done')),
    as_of             timestamptz,
    report_time       text NOT NULL,
    max_extrapolation interval NOT NULL,
    interpolation     text NOT NULL,
    requested_at      timestamptz NOT NULL,
    started_at        timestamptz,
    finished_at       timestamptz,
    attempts          integer NOT NULL DEFAULT 0,
    worker_pid        integer,
    store_count       integer,
    -- Private memory of the worker (anonymous RSS, kB) at its largest
    -- sample during the report.
    worker_memory_kb  bigint,
    error             text,
    csv               text
);
-- Stored uncompressed: compressing a large CSV costs the report more time
-- than the extra bytes cost the disk.
ALTER TABLE store_monitoring.report ALTER COLUMN csv SET STORAGE EXTERNAL;
CREATE INDEX report_running_idx ON store_monitoring.report (requested_at)
    WHERE status = 'Running';

-- The unrounded values of complete reports: minutes for the hour, hours for
-- the day and week.
CREATE TABLE store_monitoring.report_result (
    report_id          text COLLATE "C" NOT NULL,
    store_id           text COLLATE "C" NOT NULL,
    uptime_last_hour   double precision NOT NULL,
    uptime_last_day    double precision NOT NULL,
    uptime_last_week   double precision NOT NULL,
    downtime_last_hour double precision NOT NULL,
    downtime_last_day  double precision NOT NULL,
    downtime_last_week double precision NOT NULL,
    PRIMARY KEY (report_id, store_id)
);

-- No role but the owner reads or writes these tables directly: the functions
-- below read them for the caller and show a report only to roles with the
-- privileges of the role that triggered it (src/pg/report_read.cpp says why
-- a SELECT grant, even behind row-level security, would reveal other roles'
-- report ids). Row-level security without policies stays on as a backstop in
-- case someone grants SELECT anyway.
ALTER TABLE store_monitoring.report ENABLE ROW LEVEL SECURITY;
ALTER TABLE store_monitoring.report_result ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON store_monitoring.report, store_monitoring.report_result FROM PUBLIC;

GRANT USAGE ON SCHEMA store_monitoring TO PUBLIC;

-----------------------------------------------------------------------------
-- API
-----------------------------------------------------------------------------

CREATE FUNCTION store_monitoring.trigger_report()
RETURNS text
AS 'MODULE_PATHNAME', 'store_monitoring_trigger_report'
LANGUAGE C VOLATILE;

CREATE FUNCTION store_monitoring.trigger_report(as_of timestamptz)
RETURNS text
AS 'MODULE_PATHNAME', 'store_monitoring_trigger_report'
LANGUAGE C VOLATILE;

-- Internal: true when report_id was triggered by the current, uncommitted
-- transaction (its worker starts only at commit).
CREATE FUNCTION store_monitoring._triggered_in_this_transaction(report_id text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'store_monitoring_triggered_in_this_transaction'
LANGUAGE C STRICT VOLATILE;

-- Internal: starts a worker for this database when a Running report has no
-- worker (it died, the server restarted, or no worker slot was free).
CREATE FUNCTION store_monitoring._resume_orphaned_reports()
RETURNS void
AS 'MODULE_PATHNAME', 'store_monitoring_resume_orphaned_reports'
LANGUAGE C VOLATILE;

-- Internal: the report row when the caller may see it, or the error every
-- caller gets for an id that does not exist or belongs to someone else.
CREATE FUNCTION store_monitoring._visible_report(report_id text)
RETURNS store_monitoring.report
AS 'MODULE_PATHNAME', 'store_monitoring_visible_report'
LANGUAGE C VOLATILE;

CREATE FUNCTION store_monitoring.get_report(report_id text)
RETURNS TABLE (status text, csv text, as_of timestamptz, error text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r store_monitoring.report := store_monitoring._visible_report(report_id);
BEGIN
    IF r.status = 'Running' AND NOT store_monitoring._triggered_in_this_transaction(r.report_id) THEN
        PERFORM store_monitoring._resume_orphaned_reports();
    END IF;
    RETURN QUERY SELECT r.status, r.csv, r.as_of, r.error;
END
$$;

CREATE FUNCTION store_monitoring.wait_report(report_id text,
                                             timeout interval DEFAULT '5 minutes')
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r store_monitoring.report := store_monitoring._visible_report(report_id);
    deadline timestamptz;
    next_resume timestamptz := pg_catalog.clock_timestamp();
BEGIN
    IF timeout IS NULL OR timeout < interval '0' THEN
        RAISE EXCEPTION 'timeout must be a non-negative interval, not %', coalesce(timeout::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF r.status = 'Running' AND store_monitoring._triggered_in_this_transaction(r.report_id) THEN
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
            PERFORM store_monitoring._resume_orphaned_reports();
            next_resume := pg_catalog.clock_timestamp() + interval '1 second';
        END IF;
        PERFORM pg_catalog.pg_sleep(0.02);
        r := store_monitoring._visible_report(report_id);
    END LOOP;
END
$$;

CREATE FUNCTION store_monitoring.report_rows(report_id text)
RETURNS TABLE (store_id text,
               uptime_last_hour double precision,
               uptime_last_day double precision,
               uptime_last_week double precision,
               downtime_last_hour double precision,
               downtime_last_day double precision,
               downtime_last_week double precision)
AS 'MODULE_PATHNAME', 'store_monitoring_report_rows'
LANGUAGE C VOLATILE;

-- The caller's reports (all of them for a superuser), oldest first.
CREATE FUNCTION store_monitoring.list_reports()
RETURNS TABLE (report_id text, status text, phase text, as_of timestamptz, report_time text,
               max_extrapolation interval, interpolation text, requested_at timestamptz,
               started_at timestamptz, finished_at timestamptz, attempts integer,
               store_count integer, worker_memory_kb bigint, error text, owner regrole)
AS 'MODULE_PATHNAME', 'store_monitoring_list_reports'
LANGUAGE C VOLATILE;
