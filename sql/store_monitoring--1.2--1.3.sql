-- store_monitoring 1.2 -> 1.3. A fresh install chains 1.0, 1.0--1.1,
-- 1.1--1.2 and this script. Released scripts are never edited: later changes
-- go into a new upgrade script.
\echo Use "ALTER EXTENSION store_monitoring UPDATE TO '1.3'" to load this file. \quit

-- ==== identity: explain_store reads the report's own relations as their owner ====

-- One store's inputs from the relations a report read, found by the OIDs it
-- recorded (never by name), read as the report's owner in a
-- security-restricted operation whoever calls, so that a caller who may see
-- the report (a superuser, a member of the owner) never runs the owner's
-- views and functions with its own identity.
CREATE FUNCTION store_monitoring.store_inputs(report_id text, store_id text)
RETURNS TABLE (time_zone text, day_of_week smallint[], start_time_local time[],
               end_time_local time[], poll_at timestamptz[], poll_active boolean[])
AS 'MODULE_PATHNAME', 'store_monitoring_explain_store_inputs'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION store_monitoring.store_inputs(text, text) IS
    'One store''s inputs now, from the relations a report read (its recorded OIDs), read as the report''s owner: its time zone, business hours and the polls of the report''s evidence range, as explain_store() passes them to store_timeline()';

-- Reads the report through report_rows() and list_reports() (so the caller
-- sees only what those show it), and the store's inputs through
-- store_inputs(), as the report's owner, now.
CREATE OR REPLACE FUNCTION store_monitoring.explain_store(report_id text, store_id text)
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

    -- The relations the report read (their recorded OIDs), now, as its owner.
    SELECT i.time_zone, i.day_of_week, i.start_time_local, i.end_time_local, i.poll_at,
           i.poll_active
    INTO zone, dows, starts, ends, poll_times, poll_active
    FROM store_monitoring.store_inputs(wanted_report, wanted_store) i;
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
    'The timeline behind a store''s numbers in a complete report: closed/up/down/unknown intervals of the report''s week and the polls ignored because the store was closed, from the store''s current inputs in the relations the report read (read as the report''s owner); changed_since is true when they no longer give the report''s numbers';

-- ==== business hours: no shift starts at 24:00 ====

-- The rules read an end from 23:59:00 on as midnight before they read start
-- = end as 24 hours, so a 24:00-24:00 row is an empty shift, not a day; a
-- shift from midnight starts at 00:00. New rows that start at 24:00 are
-- refused. NOT VALID: rows written before stay (the update must not fail on
-- them); reports keep reading them as the rules say and check_sources() lists
-- them. Once they are fixed, ALTER TABLE ... VALIDATE CONSTRAINT checks all.
ALTER TABLE store_monitoring.business_hours
    ADD CONSTRAINT start_time_local_is_before_24_00
    CHECK (start_time_local < '24:00:00'::time) NOT VALID;
COMMENT ON COLUMN store_monitoring.business_hours.start_time_local IS
    'Local opening time on day_of_week, 00:00:00 to 23:59:59.999999 (a shift from midnight starts at 00:00)';
COMMENT ON COLUMN store_monitoring.business_hours_import.start_time_local IS
    'Local time without offset, 00:00:00 to 23:59:59.999999';
COMMENT ON FUNCTION store_monitoring.check_sources() IS
    'Every row of the calling role''s sources that a report would refuse (NULL, unknown status or zone, weekday outside 0-6, second zone row, empty or overlong store id), and every shift that starts at 24:00 (a report keeps it as the rules say: with an end at or after 23:59:00 it is empty)';

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

-- Dead surface
-- _visible_report() had no caller left, and _triggered_in_this_transaction()
-- only wait_report(), which now asks the C++ function itself. The library
-- keeps their C symbols, which the released scripts name.
DROP FUNCTION _store_monitoring_internal._visible_report(text);
DROP FUNCTION _store_monitoring_internal._triggered_in_this_transaction(text);

-- ==== queue: fair claims, per-role limits, costs that follow the caller ====

-- A role's own reports, newest first: list_reports() and latest_report()
-- read only the caller's rows, and the per-role limits of trigger_report()
-- (reports Running, space stored) count only that role's.
CREATE INDEX report_owner_idx ON _store_monitoring_internal.report (owner, requested_at);
CREATE INDEX report_owner_label_idx ON _store_monitoring_internal.report (owner, label, requested_at)
    WHERE label IS NOT NULL;
