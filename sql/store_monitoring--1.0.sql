-- store_monitoring 1.0: tables, report API, settings live in the C module.
\echo Use "CREATE EXTENSION store_monitoring" to load this file. \quit

-- Every object is schema-qualified and every function pins its search_path, so
-- that nothing here can be redirected by a user's search_path.

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

ALTER TABLE store_monitoring.report ENABLE ROW LEVEL SECURITY;
ALTER TABLE store_monitoring.report_result ENABLE ROW LEVEL SECURITY;

-- A role sees the reports of roles whose privileges it has (itself, or roles
-- it inherits). Written against pg_roles so a dropped owner hides the report
-- instead of breaking every query.
CREATE POLICY report_visible_to_owner ON store_monitoring.report FOR SELECT
    USING (owner IN (SELECT r.oid FROM pg_catalog.pg_roles r
                     WHERE pg_catalog.pg_has_role(r.oid, 'USAGE')));
CREATE POLICY report_result_visible_with_report ON store_monitoring.report_result FOR SELECT
    USING (EXISTS (SELECT 1 FROM store_monitoring.report r
                   WHERE r.report_id = report_result.report_id));

GRANT USAGE ON SCHEMA store_monitoring TO PUBLIC;
GRANT SELECT ON store_monitoring.report, store_monitoring.report_result TO PUBLIC;

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
-- Returns true when it started one.
CREATE FUNCTION store_monitoring._resume_orphaned_reports()
RETURNS boolean
AS 'MODULE_PATHNAME', 'store_monitoring_resume_orphaned_reports'
LANGUAGE C VOLATILE;

-- Internal: the visible report row or the error every caller gets for an id
-- that does not exist or belongs to someone else (indistinguishable).
CREATE FUNCTION store_monitoring._visible_report(report_id text)
RETURNS store_monitoring.report
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r store_monitoring.report;
BEGIN
    IF report_id IS NULL THEN
        RAISE EXCEPTION 'report_id must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO r FROM store_monitoring.report rp WHERE rp.report_id = _visible_report.report_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'report "%" does not exist',
            CASE WHEN pg_catalog.length(report_id) > 64
                 THEN pg_catalog.left(report_id, 64) || '...' ELSE report_id END
            USING ERRCODE = 'undefined_object',
                  HINT = 'Use the id that trigger_report() returned, as the role that triggered it.';
    END IF;
    RETURN r;
END
$$;

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
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r store_monitoring.report := store_monitoring._visible_report(report_id);
BEGIN
    IF r.status <> 'Complete' THEN
        RAISE EXCEPTION 'report "%" is %, not Complete', r.report_id, r.status
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    RETURN QUERY
        SELECT rr.store_id::text, rr.uptime_last_hour, rr.uptime_last_day, rr.uptime_last_week,
               rr.downtime_last_hour, rr.downtime_last_day, rr.downtime_last_week
        FROM store_monitoring.report_result rr
        WHERE rr.report_id = r.report_id
        ORDER BY rr.store_id;
END
$$;
