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
COMMENT ON FUNCTION store_monitoring.get_report(text) IS
    'Status (Running, Complete, Failed), CSV, as_of and error of a report the caller may see';
COMMENT ON FUNCTION store_monitoring.wait_report(text, interval) IS
    'Waits until the report is no longer Running or the timeout passes; returns its status';

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

-- The newest poll the caller can see in its polls source (what report_time =
-- 'latest' means for its next report). A coordinator calls it on every shard
-- as the mapped role; it reads with the caller's own privileges.
CREATE FUNCTION store_monitoring.latest_poll()
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'store_monitoring_latest_poll'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION store_monitoring.latest_poll() IS
    'The newest poll the caller can see in its polls source (NULL without polls): T for report_time = latest; a coordinator asks its shards';

-- ==== security (issue 7) ====

-- The import views insert as the role that loads, never as their owner.
COMMENT ON VIEW store_monitoring.store_status_import IS
    'Strict loading into store_status: every column as text, checked, then inserted with the privileges of the inserting role (needs INSERT on this view and on store_status)';
COMMENT ON VIEW store_monitoring.business_hours_import IS
    'Strict loading into business_hours: every column as text, checked, then inserted with the privileges of the inserting role (needs INSERT on this view and on business_hours)';
COMMENT ON VIEW store_monitoring.store_timezone_import IS
    'Strict loading into store_timezone: every column as text, checked, then inserted with the privileges of the inserting role (needs INSERT on this view and on store_timezone)';
COMMENT ON COLUMN _store_monitoring_internal.report.worker_memory_kb IS
    'Private memory of the worker (kB) at its peak during the report, the writing of the result included';

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

-- get_report() (C since the schema section above) renders the CSV of a
-- Complete report from report_output. The same CSV as a scalar, for checks
-- by superusers (tests compare reports with it); not for PUBLIC.
CREATE FUNCTION _store_monitoring_internal._report_csv(report_id text)
RETURNS text
AS 'MODULE_PATHNAME', 'store_monitoring_report_csv_text'
LANGUAGE C STRICT VOLATILE;
REVOKE EXECUTE ON FUNCTION _store_monitoring_internal._report_csv(text) FROM PUBLIC;
COMMENT ON FUNCTION _store_monitoring_internal._report_csv(text) IS
    'Internal: the CSV of a Complete report visible to the caller, rendered from its stored results';

-- wait_report in C: it sleeps until the worker that ends the report wakes
-- it, instead of re-reading the report every 20 ms.
-- (schema hygiene above made it C; the worker's wake-up is in report_store.cpp)
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
-- sees only what those show it), and the store's inputs from the relations
-- the report recorded, as the caller, now.
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
    SELECT l.as_of, l.max_extrapolation, l.interpolation, l.sources INTO settings
    FROM store_monitoring.list_reports() l WHERE l.report_id = wanted_report;

    -- The relations the report read (recorded when it was triggered), now.
    EXECUTE pg_catalog.format(
        'SELECT z.timezone_str::text FROM %s z WHERE z.store_id::text COLLATE "C" = $1',
        settings.sources[3]::regclass)
    INTO zone USING wanted_store;
    EXECUTE pg_catalog.format(
        'SELECT array_agg(b.day_of_week::smallint ORDER BY b.day_of_week, b.start_time_local, b.end_time_local),
                array_agg(b.start_time_local ORDER BY b.day_of_week, b.start_time_local, b.end_time_local),
                array_agg(b.end_time_local ORDER BY b.day_of_week, b.start_time_local, b.end_time_local)
         FROM %s b WHERE b.store_id::text COLLATE "C" = $1',
        settings.sources[2]::regclass)
    INTO dows, starts, ends USING wanted_store;
    -- A status other than active/inactive becomes NULL, which
    -- store_timeline() refuses.
    EXECUTE pg_catalog.format(
        'SELECT array_agg(s.timestamp_utc),
                array_agg(CASE s.status::text WHEN ''active'' THEN true
                                              WHEN ''inactive'' THEN false END)
         FROM %s s WHERE s.store_id::text COLLATE "C" = $1
           AND s.timestamp_utc BETWEEN $2 AND $3',
        settings.sources[1]::regclass)
    INTO poll_times, poll_active
    USING wanted_store, settings.as_of - interval '168 hours' - settings.max_extrapolation,
          settings.as_of;
    IF NOT in_report AND zone IS NULL AND dows IS NULL AND poll_times IS NULL THEN
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

-- list_reports(): filters and a limit, newest first; new columns sources
-- (what each report read), waiting_for (why a queued report waits), label,
-- stores_done and stores_total (progress). Its result type changes, so it is
-- dropped and created again.
DROP FUNCTION store_monitoring.list_reports();
CREATE FUNCTION store_monitoring.list_reports(status text DEFAULT NULL,
                                              since timestamptz DEFAULT NULL,
                                              label text DEFAULT NULL,
                                              "limit" integer DEFAULT NULL)
RETURNS TABLE (report_id text, status text, phase text, as_of timestamptz, report_time text,
               max_extrapolation interval, interpolation text, requested_at timestamptz,
               started_at timestamptz, finished_at timestamptz, attempts integer,
               store_count integer, worker_memory_kb bigint, error text, owner regrole,
               sources text[], waiting_for text, label text,
               stores_done bigint, stores_total bigint)
AS 'MODULE_PATHNAME', 'store_monitoring_list_reports'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION store_monitoring.list_reports(text, timestamptz, text, integer) IS
    'The caller''s reports (all for a superuser), newest first; optionally only those with this status, requested at or after since, with this label, at most limit; sources are the relations each read; waiting_for says what a queued report waits for; while a report computes, stores_done and stores_total count the stores computed and the stores read so far';

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
