-- Built for applications: every setting a report records as an argument of
-- trigger_report (one statement, no SET: safe behind a connection pooler),
-- report_status() (the status without the results), NULL ids, and ids that
-- never start with '-' or '_'.
--
-- One store in UTC, open 24x7: polls Mon 2023-01-23 10:00 active and 11:00
-- inactive; T = 12:00. nearest and previous, 2 hours and 30 min, all give
-- different reports.
\i sql/include/setup.psql

\i sql/include/try.psql

INSERT INTO store_monitoring.store_timezone VALUES ('ap_a', 'UTC');
INSERT INTO store_monitoring.store_status VALUES
    ('ap_a', 'active',   '2023-01-23 10:00:00+00'),
    ('ap_a', 'inactive', '2023-01-23 11:00:00+00');

-- The CSV of a report, once it has ended.
CREATE FUNCTION pg_temp.csv(id text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM store_monitoring.wait_report(id);
    RETURN (SELECT csv FROM store_monitoring.get_report(id));
END
$$;
-- What a report recorded.
CREATE FUNCTION pg_temp.recorded(id text)
RETURNS TABLE (as_of timestamptz, report_time text, max_extrapolation interval,
               interpolation text, label text)
LANGUAGE sql AS $$
    SELECT as_of, report_time, max_extrapolation, interpolation, label
    FROM store_monitoring.list_reports() WHERE report_id = id
$$;

\df store_monitoring.trigger_report

---------------------------------------------------------------------------
-- 1. Arguments win over the session's settings.
---------------------------------------------------------------------------
SET store_monitoring.interpolation = 'previous';
SET store_monitoring.max_extrapolation = '30 min';
SET store_monitoring.report_time = '2023-01-23 11:00+00';
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00', 'by session') AS by_session \gset
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00', 'by arguments', '2 hours', 'nearest')
    AS by_arguments \gset
SELECT store_monitoring.trigger_report(max_extrapolation => '2 hours', interpolation => 'NEAREST',
                                       report_time => '2023-01-23 12:00+00') AS by_report_time \gset
RESET store_monitoring.interpolation;
RESET store_monitoring.max_extrapolation;
RESET store_monitoring.report_time;
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS by_defaults \gset
SELECT * FROM pg_temp.recorded(:'by_session');
SELECT * FROM pg_temp.recorded(:'by_arguments');
SELECT * FROM pg_temp.recorded(:'by_report_time');
SELECT * FROM pg_temp.recorded(:'by_defaults');
-- The arguments gave the report of the defaults, byte for byte; the session
-- settings another.
SELECT pg_temp.csv(:'by_arguments') = pg_temp.csv(:'by_defaults') AS arguments_as_defaults,
       pg_temp.csv(:'by_report_time') = pg_temp.csv(:'by_defaults') AS report_time_as_defaults,
       pg_temp.csv(:'by_session') = pg_temp.csv(:'by_defaults') AS session_as_defaults;

-- Each argument alone, against the same SET.
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00', interpolation => 'previous') AS arg \gset
SET store_monitoring.interpolation = 'previous';
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS set \gset
RESET store_monitoring.interpolation;
SELECT (SELECT interpolation FROM pg_temp.recorded(:'arg')) AS interpolation,
       pg_temp.csv(:'arg') = pg_temp.csv(:'set') AS same_as_set,
       pg_temp.csv(:'arg') = pg_temp.csv(:'by_defaults') AS same_as_defaults;
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00', max_extrapolation => '30 min') AS arg \gset
SET store_monitoring.max_extrapolation = '30 min';
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS set \gset
RESET store_monitoring.max_extrapolation;
SELECT (SELECT max_extrapolation FROM pg_temp.recorded(:'arg')) AS max_extrapolation,
       pg_temp.csv(:'arg') = pg_temp.csv(:'set') AS same_as_set,
       pg_temp.csv(:'arg') = pg_temp.csv(:'by_defaults') AS same_as_defaults;
-- report_time: latest, now and a timestamp; an as_of argument still wins.
SELECT store_monitoring.trigger_report(report_time => 'latest') AS latest \gset
SELECT store_monitoring.wait_report(:'latest');
SELECT as_of, report_time FROM pg_temp.recorded(:'latest');
BEGIN;
SELECT store_monitoring.trigger_report(report_time => 'now') AS now \gset
SELECT as_of = now() AS as_of_is_now, report_time FROM pg_temp.recorded(:'now');
ROLLBACK;
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00', report_time => '2023-01-23 10:00+00')
    AS both \gset
SELECT as_of, report_time FROM pg_temp.recorded(:'both');
SELECT pg_temp.csv(:'both') = pg_temp.csv(:'by_defaults') AS as_of_wins;

---------------------------------------------------------------------------
-- 2. Arguments are checked as the settings are, with the same errors.
---------------------------------------------------------------------------
CREATE FUNCTION pg_temp.err(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    message text;
    detail text;
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS message = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
    RETURN SQLSTATE || ': ' || message || coalesce(' DETAIL: ' || nullif(detail, ''), '');
END
$$;
SELECT value,
       pg_temp.err(format('SELECT store_monitoring.trigger_report(max_extrapolation => %L)', value))
           AS argument,
       pg_temp.err(format('SET store_monitoring.max_extrapolation = %L', value)) AS set
FROM unnest(ARRAY['8 days', '1 mon', '-1 hour', '7 days 00:00:00.000001']) AS value;
SELECT value,
       pg_temp.err(format('SELECT store_monitoring.trigger_report(interpolation => %L)', value))
           AS argument,
       pg_temp.err(format('SET store_monitoring.interpolation = %L', value)) AS set
FROM unnest(ARRAY['banana', '']) AS value;
SELECT value,
       pg_temp.err(format('SELECT store_monitoring.trigger_report(report_time => %L)', value))
           AS argument,
       pg_temp.err(format('SET store_monitoring.report_time = %L', value)) AS set
FROM unnest(ARRAY['banana', 'infinity']) AS value;
-- The bounds themselves are accepted.
BEGIN;
SELECT max_extrapolation, interpolation
FROM pg_temp.recorded(store_monitoring.trigger_report('2023-01-23 12:00+00',
                                                      max_extrapolation => '7 days',
                                                      interpolation => 'Previous'));
SELECT max_extrapolation
FROM pg_temp.recorded(store_monitoring.trigger_report(max_extrapolation => '0'));
ROLLBACK;
-- The session's settings are untouched.
SHOW store_monitoring.max_extrapolation;
SHOW store_monitoring.interpolation;
SHOW store_monitoring.report_time;

---------------------------------------------------------------------------
-- 3. 1.1's calls keep working.
---------------------------------------------------------------------------
BEGIN;
SELECT report_time, label FROM pg_temp.recorded(store_monitoring.trigger_report());
SELECT report_time, label FROM pg_temp.recorded(store_monitoring.trigger_report('2023-01-23 12:00+00'));
SELECT report_time, label
FROM pg_temp.recorded(store_monitoring.trigger_report('2023-01-23 12:00+00', 'old'));
SELECT report_time, label
FROM pg_temp.recorded(store_monitoring.trigger_report(label => 'named', as_of => '2023-01-23 12:00+00'));
SELECT report_time, label FROM pg_temp.recorded(store_monitoring.trigger_report(NULL, NULL));
ROLLBACK;

---------------------------------------------------------------------------
-- 4. report_status(): the status without the results.
---------------------------------------------------------------------------
\df store_monitoring.report_status
SELECT status, phase, as_of, as_of_text, error, requested_at IS NOT NULL AS requested,
       started_at IS NOT NULL AS started, finished_at >= started_at AS finished, store_count
FROM store_monitoring.report_status(:'by_defaults');
-- A report triggered in this transaction: Running, queued, as_of NULL
-- until the worker resolves latest.
BEGIN;
SELECT store_monitoring.trigger_report() AS queued \gset
SELECT status, phase, as_of, as_of_text, error, started_at, finished_at, store_count
FROM store_monitoring.report_status(:'queued');
ROLLBACK;
-- It reads no results: with the stored results damaged, get_report fails
-- and report_status still answers.
BEGIN;
UPDATE _store_monitoring_internal.report_output SET data = '\x00' WHERE report_id = :'by_defaults';
SELECT pg_temp.try('SELECT * FROM store_monitoring.get_report($1)', :'by_defaults') AS get_report;
SELECT status, store_count FROM store_monitoring.report_status(:'by_defaults');
ROLLBACK;
-- as_of_text keeps every microsecond, in UTC, under any TimeZone and
-- DateStyle; passed back as text it gives the same T.
SET TimeZone = 'America/New_York';
SET DateStyle = 'SQL, DMY';
SELECT store_monitoring.trigger_report('2023-01-23 11:59:59.123456+00') AS micro \gset
SELECT as_of, as_of_text, as_of_text::timestamptz = as_of AS exact
FROM store_monitoring.report_status(:'micro');
SELECT store_monitoring.trigger_report(as_of_text::timestamptz) AS again
FROM store_monitoring.report_status(:'micro') \gset
SELECT store_monitoring.trigger_report(report_time => as_of_text) AS again_by_report_time
FROM store_monitoring.report_status(:'micro') \gset
SELECT (SELECT as_of FROM store_monitoring.report_status(:'again')) =
       (SELECT as_of FROM store_monitoring.report_status(:'micro')) AS same_t,
       (SELECT as_of FROM store_monitoring.report_status(:'again_by_report_time')) =
       (SELECT as_of FROM store_monitoring.report_status(:'micro')) AS same_t_by_report_time,
       pg_temp.csv(:'again') = pg_temp.csv(:'micro') AS same_csv;
-- The millisecond a JavaScript Date would keep is another T.
SELECT store_monitoring.trigger_report(date_trunc('milliseconds', as_of)) AS truncated
FROM store_monitoring.report_status(:'micro') \gset
SELECT as_of_text FROM store_monitoring.report_status(:'truncated');
RESET TimeZone;
RESET DateStyle;
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
-- BC instants, too.
BEGIN;
SELECT store_monitoring.trigger_report('0044-03-15 12:00:00.5+00 BC') AS bc \gset
SELECT as_of_text, as_of_text::timestamptz = as_of AS exact
FROM store_monitoring.report_status(:'bc');
ROLLBACK;

-- Another role's id does not exist, as for get_report; a NULL id is no
-- report: no row from either (the Scheduling example before the first
-- scheduled report).
DROP ROLE IF EXISTS regress_sm_apps;
CREATE ROLE regress_sm_apps;
SET ROLE regress_sm_apps;
SELECT pg_temp.try('SELECT * FROM store_monitoring.report_status($1)', :'by_defaults') AS report_status,
       pg_temp.try('SELECT * FROM store_monitoring.get_report($1)', :'by_defaults') AS get_report;
SELECT pg_temp.try('SELECT * FROM store_monitoring.report_status($1)', 'no-such-id') AS report_status,
       pg_temp.try('SELECT * FROM store_monitoring.get_report($1)', 'no-such-id') AS get_report;
SELECT count(*) AS status_rows FROM store_monitoring.report_status(NULL);
SELECT count(*) AS report_rows FROM store_monitoring.get_report(NULL);
SELECT count(*) AS latest_rows
FROM store_monitoring.get_report(store_monitoring.latest_report('never scheduled'));
RESET ROLE;
DROP ROLE regress_sm_apps;

---------------------------------------------------------------------------
-- 5. Ids never start with '-' or '_' (1 in 32 random ids would); they are
-- still 16 characters of the URL-safe alphabet, all different.
---------------------------------------------------------------------------
BEGIN;
-- More than one role may have Running by default (a superuser may lift it).
SET LOCAL store_monitoring.max_queued_per_role = 0;
CREATE TEMP TABLE ids AS
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS id FROM generate_series(1, 1000);
SELECT count(*) AS ids, count(DISTINCT id) AS distinct_ids,
       count(*) FILTER (WHERE id ~ '^[-_]') AS starting_with_dash_or_underscore,
       count(*) FILTER (WHERE id !~ '^[A-Za-z0-9_-]{16}$') AS not_16_url_safe,
       count(*) FILTER (WHERE id ~ '[-_]') > 0 AS dash_or_underscore_inside
FROM ids;
ROLLBACK;

---------------------------------------------------------------------------
-- 6. store_report(): one store's row at once, equal to a report's.
---------------------------------------------------------------------------
\df store_monitoring.store_report
-- 30 generated stores: zones in four offsets (every 5th store none:
-- America/Chicago), 24x7 (every 3rd), 09:00-17:00 every day, or also an
-- overnight shift; hourly polls over nine days around T with gaps and
-- inactive ones, some after T; a store known only from its hours, one only
-- from its zone, one whose polls are all three weeks old.
INSERT INTO store_monitoring.store_timezone
SELECT format('s%s', i), (ARRAY['UTC', 'America/New_York', 'Asia/Kolkata', 'Europe/Berlin'])[i % 4 + 1]
FROM generate_series(1, 30) i WHERE i % 5 <> 0;
INSERT INTO store_monitoring.business_hours
SELECT format('s%s', i), d, '09:00', '17:00'
FROM generate_series(1, 30) i, generate_series(0, 6) d WHERE i % 3 <> 0;
INSERT INTO store_monitoring.business_hours
SELECT format('s%s', i), d, '22:00', '24:00'
FROM generate_series(1, 30) i, generate_series(0, 6) d WHERE i % 3 = 2;
INSERT INTO store_monitoring.store_status
SELECT format('s%s', i), CASE WHEN (i * h) % 7 = 0 THEN 'inactive' ELSE 'active' END::store_monitoring.poll_status,
       timestamptz '2023-01-25 12:00+00' - h * interval '1 hour' + i * interval '1 minute'
FROM generate_series(1, 30) i, generate_series(-5, 220) h WHERE h % (i % 4 + 2) <> 0;
INSERT INTO store_monitoring.business_hours VALUES ('h_only', 2, '10:00', '11:00');
INSERT INTO store_monitoring.store_timezone VALUES ('z_only', 'Asia/Tokyo');
INSERT INTO store_monitoring.store_status VALUES ('old', 'active', '2023-01-04 12:00+00');

SELECT store_monitoring.trigger_report('2023-01-25 12:00+00') AS r_default \gset
SELECT store_monitoring.trigger_report('2023-01-25 12:00+00', max_extrapolation => '30 min',
                                       interpolation => 'previous') AS r_previous \gset
SELECT store_monitoring.trigger_report() AS r_latest \gset
SELECT store_monitoring.wait_report(:'r_default') AS r_default,
       store_monitoring.wait_report(:'r_previous') AS r_previous,
       store_monitoring.wait_report(:'r_latest') AS r_latest;
-- Every store of each report, against store_report with the same T and
-- settings (as arguments, as SETs, latest): equal to the last bit.
CREATE FUNCTION pg_temp.compare(id text, stmt text)
RETURNS TABLE (stores bigint, equal bigint) LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format(
        'SELECT count(*), count(*) FILTER (WHERE row(s.*) IS NOT DISTINCT FROM row(r.*)) '
        'FROM store_monitoring.report_rows($1) r LEFT JOIN LATERAL (%s) s ON true', stmt)
    USING id;
END
$$;
SELECT * FROM pg_temp.compare(:'r_default',
    'SELECT * FROM store_monitoring.store_report(r.store_id, ''2023-01-25 12:00+00'')');
SELECT * FROM pg_temp.compare(:'r_previous',
    'SELECT * FROM store_monitoring.store_report(r.store_id, ''2023-01-25 12:00+00'', ''30 min'', ''previous'')');
SET store_monitoring.max_extrapolation = '30 min';
SET store_monitoring.interpolation = 'previous';
SELECT * FROM pg_temp.compare(:'r_previous',
    'SELECT * FROM store_monitoring.store_report(r.store_id, ''2023-01-25 12:00+00'')');
SELECT * FROM pg_temp.compare(:'r_default',
    'SELECT * FROM store_monitoring.store_report(r.store_id, ''2023-01-25 12:00+00'', ''2 hours'', ''nearest'')');
RESET store_monitoring.max_extrapolation;
RESET store_monitoring.interpolation;
SELECT * FROM pg_temp.compare(:'r_latest',
    'SELECT * FROM store_monitoring.store_report(r.store_id)');
-- The stores without polls in the range have their rows too; a store no
-- source knows has none.
SELECT store_id, uptime_last_week, downtime_last_week, unknown_last_week
FROM store_monitoring.store_report('h_only', '2023-01-25 12:00+00')
UNION ALL SELECT store_id, uptime_last_week, downtime_last_week, unknown_last_week
FROM store_monitoring.store_report('old', '2023-01-25 12:00+00')
UNION ALL SELECT store_id, uptime_last_week, downtime_last_week, unknown_last_week
FROM store_monitoring.store_report('z_only', '2023-01-25 12:00+00');
SELECT count(*) AS unknown_store FROM store_monitoring.store_report('nobody', '2023-01-25 12:00+00');
SELECT pg_temp.err('SELECT * FROM store_monitoring.store_report(NULL)') AS null_store;
SELECT pg_temp.try('SELECT * FROM store_monitoring.store_report(''s1'', max_extrapolation => ''8 days'')', '')
    AS checked_as_the_setting;
-- It reads only the store's polls, through the default table's index on
-- (store_id, timestamp_utc): with sequential scans priced as on a table of
-- real size, none.
-- (Counted within one transaction: a backend reports its counts only
-- between transactions.)
BEGIN;
SET LOCAL enable_seqscan = off;
CREATE TEMP TABLE scans_before AS
SELECT seq_scan, idx_scan FROM pg_stat_xact_user_tables
WHERE relid = 'store_monitoring.store_status'::regclass;
SELECT count(*) FROM store_monitoring.store_report('s7', '2023-01-25 12:00+00');
SELECT x.seq_scan - b.seq_scan AS seq_scans, x.idx_scan > b.idx_scan AS index_used
FROM pg_stat_xact_user_tables x, scans_before b
WHERE x.relid = 'store_monitoring.store_status'::regclass;
ROLLBACK;

-- As the caller, from its own sources, with a report's checks and errors.
DROP ROLE IF EXISTS regress_sm_apps2;
CREATE ROLE regress_sm_apps2;
CREATE TABLE public.apps_polls (store_id text, timestamp_utc timestamptz, status text);
INSERT INTO public.apps_polls VALUES ('good', '2023-01-25 11:00+00', 'active'),
                                     ('bad', '2023-01-25 11:00+00', 'banana');
GRANT SELECT ON public.apps_polls TO regress_sm_apps2;
SET ROLE regress_sm_apps2;
-- No SELECT on the default tables yet: the same error as trigger_report.
SELECT pg_temp.try('SELECT store_monitoring.trigger_report()', '') AS trigger_report;
SELECT pg_temp.try('SELECT * FROM store_monitoring.store_report(''s1'')', '') AS store_report;
RESET ROLE;
GRANT SELECT ON store_monitoring.business_hours, store_monitoring.store_timezone TO regress_sm_apps2;
SET ROLE regress_sm_apps2;
SELECT store_monitoring.set_sources(polls => 'public.apps_polls');
SELECT store_monitoring.trigger_report('2023-01-25 12:00+00') AS bad_report \gset
RESET ROLE;
SELECT store_monitoring.wait_report(:'bad_report');
SET ROLE regress_sm_apps2;
SELECT status, error FROM store_monitoring.report_status(:'bad_report');
SELECT pg_temp.try('SELECT * FROM store_monitoring.store_report(''bad'', ''2023-01-25 12:00+00'')', '')
    AS bad_store;
-- The other stores' rows are not read: their rows come.
SELECT store_id, uptime_last_hour, downtime_last_hour
FROM store_monitoring.store_report('good', '2023-01-25 12:00+00');
RESET ROLE;
DROP TABLE public.apps_polls;
DROP OWNED BY regress_sm_apps2;
DROP ROLE regress_sm_apps2;

-- A coordinator holds none of its stores: refused, with the way out.
CREATE EXTENSION IF NOT EXISTS postgres_fdw;
CREATE SERVER regress_sm_apps_shard FOREIGN DATA WRAPPER postgres_fdw
    OPTIONS (host '/nonexistent', port '1', dbname 'postgres');
SELECT store_monitoring.add_shard('regress_sm_apps_shard');
SELECT pg_temp.err('SELECT * FROM store_monitoring.store_report(''s1'', ''2023-01-25 12:00+00'')')
    AS on_a_coordinator;
SELECT store_monitoring.remove_shard('regress_sm_apps_shard');
DROP SERVER regress_sm_apps_shard;

DELETE FROM _store_monitoring_internal.report;

---------------------------------------------------------------------------
-- 7. A bad value set before the library loaded (a pooled server connection
-- may carry one from another client) does not matter to a call that gives
-- that setting as an argument; a call that needs it still refuses.
---------------------------------------------------------------------------
\c
SET store_monitoring.interpolation = 'banana';
SET store_monitoring.max_extrapolation = '9 days';
SELECT store_monitoring.trigger_report('2023-01-25 12:00+00', interpolation => 'nearest');
BEGIN;
SELECT store_monitoring.trigger_report('2023-01-25 12:00+00', max_extrapolation => '1 hour',
                                       interpolation => 'nearest') IS NOT NULL AS triggered;
ROLLBACK;
SELECT store_id, uptime_last_hour
FROM store_monitoring.store_report('s1', '2023-01-25 12:00+00', '2 hours', 'nearest');
SELECT store_id FROM store_monitoring.store_report('s1', '2023-01-25 12:00+00', '2 hours');
