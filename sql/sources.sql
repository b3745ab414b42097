-- Sources (store_monitoring.set_sources): reports over a user's own
-- relations give the same numbers as over the default tables; wrong shapes
-- are refused when set and when a report starts; bad rows end the report
-- Failed naming the relation, the store and the value; check_sources()
-- lists them all.
\i sql/include/setup.psql

-- Four stores, T = Monday 2023-01-23 12:00 UTC, H = 2 hours (default).
-- B1: UTC, Mondays 09:00-12:00, polls 10:14 active and 11:15 inactive: the
--     worked example. Switch at 10:44:30. Hour: up 0, down 60 min.
--     Day and week (only Jan 23 09:00-12:00 is open in them): up
--     09:00-10:44:30 = 1.741667 h (1.74), down 10:44:30-12:00 = 1.258333 h (1.26).
-- a1: UTC, no hours (open 24x7), one poll 11:30 active: up in
--     [09:30, 12:00) (2 h before the poll to T). Hour: up 60 min, down 0.
--     Day: up 2.5 h, down 21.5 h. Week: up 2.5 h, down 165.5 h.
-- c1: only a zone row (America/New_York), no polls, no hours: open 24x7,
--     all unknown. Hour down 60, day down 24, week down 168.
-- d1: only hours (no zone: America/Chicago, UTC-6 in January), Mondays
--     08:00-10:00 local = 14:00-16:00 UTC. Jan 23's shift is after T; Jan
--     16's lies in the week window [Jan 16 12:00, Jan 23 12:00): 2 h open,
--     no polls: down 2 h in the week, nothing open in the hour and day.
-- Byte order: B1 (0x42) < a1 < c1 < d1; a linguistic order would put a1 first.
CREATE TABLE pg_temp.case_polls (store_id text, status text, timestamp_utc timestamptz);
INSERT INTO pg_temp.case_polls VALUES
    ('B1', 'active',   '2023-01-23 10:14+00'),
    ('B1', 'inactive', '2023-01-23 11:15+00'),
    ('a1', 'active',   '2023-01-23 11:30+00');
CREATE TABLE pg_temp.case_hours (store_id text, day_of_week int, start_time_local time,
                                 end_time_local time);
INSERT INTO pg_temp.case_hours VALUES ('B1', 0, '09:00', '12:00'), ('d1', 0, '08:00', '10:00');
CREATE TABLE pg_temp.case_zones (store_id text, timezone_str text);
INSERT INTO pg_temp.case_zones VALUES ('B1', 'UTC'), ('a1', 'UTC'), ('c1', 'America/New_York');

INSERT INTO store_monitoring.store_status SELECT store_id, status::store_monitoring.poll_status,
    timestamp_utc FROM pg_temp.case_polls;
INSERT INTO store_monitoring.business_hours SELECT * FROM pg_temp.case_hours;
INSERT INTO store_monitoring.store_timezone SELECT * FROM pg_temp.case_zones;

-- The sources until changed: the default tables.
SELECT * FROM store_monitoring.sources();
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS default_id \gset
SELECT store_monitoring.wait_report(:'default_id');
\a\t
SELECT csv FROM store_monitoring.get_report(:'default_id');
\a\t
SELECT sources FROM store_monitoring.list_reports() WHERE report_id = :'default_id';

-- The default table is still read in index order (no Sort), index-only.
SET enable_seqscan = off;
SELECT format('EXPLAIN (COSTS OFF) %s', _store_monitoring_internal._source_query(
    'polls', 'store_monitoring.store_status')) \gexec
RESET enable_seqscan;

-- (a) An application's own tables, with other column names and types, behind
-- views. Linguistic collation on the id: the report must still be in byte
-- order. Polls carry extra columns and a serial key, as real tables do.
CREATE TABLE public.restaurant_checks (
    check_id    bigserial PRIMARY KEY,
    restaurant  varchar(40) COLLATE "en-x-icu" NOT NULL,
    checked_at  timestamptz NOT NULL,
    online      boolean NOT NULL,
    probe_host  text
);
INSERT INTO public.restaurant_checks (restaurant, checked_at, online, probe_host)
    SELECT store_id, timestamp_utc, status = 'active', 'probe-1' FROM pg_temp.case_polls;
CREATE VIEW public.store_polls AS
    SELECT restaurant AS store_id,
           CASE WHEN online THEN 'active' ELSE 'inactive' END AS status,
           checked_at AS timestamp_utc
    FROM public.restaurant_checks;
CREATE TABLE public.opening_hours (restaurant text COLLATE "en-x-icu", weekday int,
                                   opens time, closes time);
INSERT INTO public.opening_hours SELECT * FROM pg_temp.case_hours;
CREATE VIEW public.store_hours AS
    SELECT restaurant AS store_id, weekday AS day_of_week, opens AS start_time_local,
           closes AS end_time_local FROM public.opening_hours;
CREATE TABLE public.restaurant_zones (store_id varchar(40), timezone_str varchar(64));
INSERT INTO public.restaurant_zones SELECT * FROM pg_temp.case_zones;

SELECT store_monitoring.set_sources('public.store_polls', 'public.store_hours',
                                    'public.restaurant_zones');
SELECT * FROM store_monitoring.sources();
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS view_id \gset
SELECT store_monitoring.wait_report(:'view_id');
SELECT (SELECT csv FROM store_monitoring.get_report(:'view_id')) =
       (SELECT csv FROM store_monitoring.get_report(:'default_id')) AS same_csv_as_default;
SELECT sources FROM store_monitoring.list_reports() WHERE report_id = :'view_id';

-- (b) A partitioned table (by month), status as an enum with an extra label.
CREATE TYPE public.probe_state AS ENUM ('unknown', 'inactive', 'active');
CREATE TABLE public.polls_by_month (store_id text, status public.probe_state,
                                    timestamp_utc timestamptz)
    PARTITION BY RANGE (timestamp_utc);
CREATE TABLE public.polls_2022_12 PARTITION OF public.polls_by_month
    FOR VALUES FROM ('2022-12-01+00') TO ('2023-01-01+00');
CREATE TABLE public.polls_2023_01 PARTITION OF public.polls_by_month
    FOR VALUES FROM ('2023-01-01+00') TO ('2023-02-01+00');
INSERT INTO public.polls_by_month SELECT store_id, status::public.probe_state, timestamp_utc
    FROM pg_temp.case_polls;
SELECT store_monitoring.set_sources('public.polls_by_month', 'public.store_hours',
                                    'public.restaurant_zones');
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS part_id \gset
SELECT store_monitoring.wait_report(:'part_id');
SELECT (SELECT csv FROM store_monitoring.get_report(:'part_id')) =
       (SELECT csv FROM store_monitoring.get_report(:'default_id')) AS same_csv_as_default;

-- (c) Materialized views, with smallint weekdays.
CREATE MATERIALIZED VIEW public.polls_mv AS SELECT * FROM public.store_polls;
CREATE MATERIALIZED VIEW public.hours_mv AS
    SELECT store_id, day_of_week::smallint AS day_of_week, start_time_local, end_time_local
    FROM public.store_hours;
CREATE MATERIALIZED VIEW public.zones_mv AS SELECT * FROM public.restaurant_zones;
SELECT store_monitoring.set_sources('public.polls_mv', 'public.hours_mv', 'public.zones_mv');
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS mv_id \gset
SELECT store_monitoring.wait_report(:'mv_id');
SELECT (SELECT csv FROM store_monitoring.get_report(:'mv_id')) =
       (SELECT csv FROM store_monitoring.get_report(:'default_id')) AS same_csv_as_default;
-- (d) A view that writes as it is read (nextval), which parallel mode would
-- refuse: a user's relation is read without parallel workers.
CREATE SEQUENCE public.read_counter;
CREATE VIEW public.counted_polls AS
    SELECT store_id, status, timestamp_utc FROM public.store_polls
    WHERE pg_catalog.nextval('public.read_counter') > 0;
SELECT store_monitoring.set_sources('public.counted_polls', 'public.store_hours',
                                    'public.restaurant_zones');
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS counted_id \gset
SELECT store_monitoring.wait_report(:'counted_id');
SELECT (SELECT csv FROM store_monitoring.get_report(:'counted_id')) =
       (SELECT csv FROM store_monitoring.get_report(:'default_id')) AS same_csv_as_default;
-- (e) store_id with a nondeterministic (case-blind) collation: x1 and X1
-- differ in bytes, so they are two stores, each with only a poll older than
-- the range (found by the list of store ids, which compares bytes).
CREATE COLLATION public.case_blind (provider = icu, locale = 'und-u-ks-level2',
                                    deterministic = false);
CREATE TABLE public.blind_polls (store_id text COLLATE public.case_blind, status text,
                                 timestamp_utc timestamptz);
INSERT INTO public.blind_polls SELECT * FROM pg_temp.case_polls;
INSERT INTO public.blind_polls VALUES ('x1', 'active', '2022-12-01 00:00+00'),
                                      ('X1', 'active', '2022-12-02 00:00+00');
SELECT store_monitoring.set_sources('public.blind_polls', 'public.store_hours',
                                    'public.restaurant_zones');
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS blind_id \gset
SELECT store_monitoring.wait_report(:'blind_id');
SELECT store_id, downtime_last_week FROM store_monitoring.report_rows(:'blind_id')
WHERE store_id COLLATE "C" IN ('x1', 'X1') ORDER BY store_id COLLATE "C";
SELECT store_monitoring.set_sources('public.polls_mv', 'public.hours_mv', 'public.zones_mv');
-- report_time = 'latest' reads the newest poll of the configured relation:
-- 11:30 here (the default table holds the same polls, so make it differ).
INSERT INTO store_monitoring.store_status VALUES ('zz', 'active', '2023-01-30 00:00+00');
SET store_monitoring.report_time = 'latest';
SELECT store_monitoring.trigger_report() AS latest_id \gset
SELECT store_monitoring.wait_report(:'latest_id');
SELECT status, as_of FROM store_monitoring.get_report(:'latest_id');
RESET store_monitoring.report_time;
DELETE FROM store_monitoring.store_status WHERE store_id = 'zz';

-- Sources belong to the role that sets them: another role's reports keep
-- reading the default tables.
CREATE ROLE regress_sm_other;
GRANT SELECT ON store_monitoring.store_status, store_monitoring.business_hours,
    store_monitoring.store_timezone TO regress_sm_other;
SET ROLE regress_sm_other;
SELECT * FROM store_monitoring.sources();
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS other_id \gset
RESET ROLE;
SELECT store_monitoring.wait_report(:'other_id');
SELECT owner, sources FROM store_monitoring.list_reports() WHERE report_id = :'other_id';

-- Privileges and row-level security of the triggering role apply to its
-- sources: regress_sm_other sees only store B1's polls in this table.
CREATE TABLE public.shared_polls (store_id text, status text, timestamp_utc timestamptz);
INSERT INTO public.shared_polls SELECT * FROM pg_temp.case_polls;
ALTER TABLE public.shared_polls ENABLE ROW LEVEL SECURITY;
CREATE POLICY only_b1 ON public.shared_polls FOR SELECT TO regress_sm_other
    USING (store_id = 'B1');
GRANT SELECT ON public.shared_polls TO regress_sm_other;
SET ROLE regress_sm_other;
SELECT store_monitoring.set_sources('public.shared_polls');
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS rls_id \gset
RESET ROLE;
SELECT store_monitoring.wait_report(:'rls_id');
-- a1 keeps its row (it has a zone) but without its poll: all unknown, as c1.
\a\t
SELECT csv FROM store_monitoring.get_report(:'rls_id');
\a\t
-- latest_poll() reads the caller's own sources as the caller (not those of
-- the superuser it acts as to read the sources table): B1's newest poll.
SET ROLE regress_sm_other;
SELECT store_monitoring.latest_poll() AS own_latest,
       store_monitoring.latest_poll() IS NOT DISTINCT FROM
           (SELECT max(timestamp_utc) FROM public.shared_polls) AS as_the_caller;
SELECT store_monitoring.set_sources();
RESET ROLE;

-- Back to the defaults: no arguments.
SELECT store_monitoring.set_sources();
SELECT * FROM store_monitoring.sources();

-- Wrong shapes, refused by set_sources(), one row per case.
CREATE TABLE public.shape_polls (store_id text, status text, timestamp_utc timestamptz);
CREATE TYPE public.half_state AS ENUM ('active', 'down');
CREATE TABLE public.shape_bigint_id (store_id bigint, status text, timestamp_utc timestamptz);
CREATE TABLE public.shape_char_id (store_id char(8), status text, timestamp_utc timestamptz);
CREATE TABLE public.shape_int_status (store_id text, status int, timestamp_utc timestamptz);
CREATE TABLE public.shape_half_enum (store_id text, status public.half_state,
                                     timestamp_utc timestamptz);
CREATE TABLE public.shape_no_zone (store_id text, status text, timestamp_utc timestamp);
CREATE TABLE public.shape_no_time (store_id text, status text);
CREATE TABLE public.shape_weekday (store_id text, day_of_week numeric, start_time_local time,
                                   end_time_local time);
CREATE TABLE public.shape_timetz (store_id text, day_of_week int, start_time_local timetz,
                                  end_time_local time);
CREATE TABLE public.shape_zone_int (store_id text, timezone_str int);
CREATE SEQUENCE public.shape_sequence;
CREATE TEMP TABLE shape_temp (store_id text, status text, timestamp_utc timestamptz);
CREATE TABLE public.shape_secret (store_id text, status text, timestamp_utc timestamptz);
CREATE SCHEMA shape_hidden;
CREATE TABLE shape_hidden.polls (store_id text, status text, timestamp_utc timestamptz);
GRANT SELECT ON shape_hidden.polls TO regress_sm_other;  -- but no USAGE on the schema
CREATE TABLE pg_temp.shape_cases (n int, call text);
INSERT INTO pg_temp.shape_cases VALUES
    (1, $$SELECT store_monitoring.set_sources('public.shape_bigint_id')$$),
    (2, $$SELECT store_monitoring.set_sources('public.shape_char_id')$$),
    (3, $$SELECT store_monitoring.set_sources('public.shape_int_status')$$),
    (4, $$SELECT store_monitoring.set_sources('public.shape_half_enum')$$),
    (5, $$SELECT store_monitoring.set_sources('public.shape_no_zone')$$),
    (6, $$SELECT store_monitoring.set_sources('public.shape_no_time')$$),
    (7, $$SELECT store_monitoring.set_sources(NULL, 'public.shape_weekday')$$),
    (8, $$SELECT store_monitoring.set_sources(NULL, 'public.shape_timetz')$$),
    (9, $$SELECT store_monitoring.set_sources(NULL, NULL, 'public.shape_zone_int')$$),
    (10, $$SELECT store_monitoring.set_sources('public.shape_sequence')$$),
    (11, $$SELECT store_monitoring.set_sources('shape_temp')$$),
    (12, $$SELECT store_monitoring.set_sources(NULL, 'public.shape_polls')$$),
    (13, $$SET ROLE regress_sm_other; SELECT store_monitoring.set_sources('public.shape_secret')$$),
    -- By OID: the name cannot even be looked up without USAGE.
    (14, format($$SET ROLE regress_sm_other; SELECT store_monitoring.set_sources(%s::regclass)$$,
                'shape_hidden.polls'::regclass::oid));
CREATE FUNCTION pg_temp.shape_error(call text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE call;
    RESET ROLE;
    RETURN 'accepted';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLERRM;
END $$;
SELECT n, regexp_replace(pg_temp.shape_error(call), 'pg_temp_\d+', 'pg_temp') AS error
FROM pg_temp.shape_cases ORDER BY n;
-- None of them was stored.
SELECT * FROM store_monitoring.sources();
SELECT count(*) AS stored_rows FROM _store_monitoring_internal.sources;

-- Checked again when the report starts: the type changes after the trigger.
SELECT store_monitoring.set_sources('public.shape_polls');
BEGIN;
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS changed_id \gset
ALTER TABLE public.shape_polls ALTER COLUMN store_id TYPE bigint USING store_id::bigint;
COMMIT;
SELECT store_monitoring.wait_report(:'changed_id');
SELECT status, attempts, error FROM store_monitoring.list_reports()
WHERE report_id = :'changed_id';
-- ... and a dropped source.
SELECT store_monitoring.set_sources(NULL, NULL, 'public.restaurant_zones');
BEGIN;
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS dropped_id \gset
DROP TABLE public.restaurant_zones CASCADE;
COMMIT;
SELECT store_monitoring.wait_report(:'dropped_id');
SELECT status, attempts, regexp_replace(error, 'OID \d+', 'OID n') AS error
FROM store_monitoring.list_reports() WHERE report_id = :'dropped_id';

-- Bad rows. Good rows (those above) plus one bad row per case: each report
-- ends Failed naming the relation, the store and the value, after one
-- attempt, and writes no rows.
CREATE TABLE public.bad_polls (store_id text, status text, timestamp_utc timestamptz);
CREATE TABLE public.bad_hours (store_id text, day_of_week bigint, start_time_local time,
                               end_time_local time);
CREATE TABLE public.bad_zones (store_id text, timezone_str text);
INSERT INTO public.bad_polls SELECT * FROM pg_temp.case_polls;
INSERT INTO public.bad_hours SELECT * FROM pg_temp.case_hours;
INSERT INTO public.bad_zones SELECT * FROM pg_temp.case_zones;
SELECT store_monitoring.set_sources('public.bad_polls', 'public.bad_hours', 'public.bad_zones');
CREATE TABLE public.bad_cases (n int, relation text, bad_row text);
INSERT INTO public.bad_cases VALUES
    (1,  'public.bad_polls', $$(NULL, 'active', '2023-01-23 10:00+00')$$),
    (2,  'public.bad_polls', $$('B1', NULL, '2023-01-23 10:00+00')$$),
    (3,  'public.bad_polls', $$('B1', 'active', NULL)$$),
    (4,  'public.bad_polls', $$('B1', 'Active', '2023-01-23 10:00+00')$$),
    (5,  'public.bad_polls', $$('B1', 'active', 'infinity')$$),
    (6,  'public.bad_polls', $$('', 'active', '2023-01-23 10:00+00')$$),
    (7,  'public.bad_polls', $$(repeat('x', 256), 'active', '2023-01-23 10:00+00')$$),
    (8,  'public.bad_hours', $$('B1', 9, '09:00', '10:00')$$),
    (9,  'public.bad_hours', $$('B1', -1, '09:00', '10:00')$$),
    (10, 'public.bad_hours', $$('B1', 1, NULL, '10:00')$$),
    (11, 'public.bad_hours', $$('B1', NULL, '09:00', '10:00')$$),
    (12, 'public.bad_zones', $$('c1', 'UTC')$$),
    (13, 'public.bad_zones', $$('e1', 'Mars/Olympus_Mons')$$),
    (14, 'public.bad_zones', $$('e1', NULL)$$),
    (15, 'public.bad_zones', $$('e1', '')$$);
CREATE TABLE public.bad_results (n int, status text, attempts int, error text, rows bigint);
CREATE PROCEDURE pg_temp.run_bad_cases() LANGUAGE plpgsql AS $$
DECLARE
    c record;
    id text;
BEGIN
    FOR c IN SELECT * FROM public.bad_cases ORDER BY n LOOP
        EXECUTE format('INSERT INTO %s VALUES %s', c.relation, c.bad_row);
        id := store_monitoring.trigger_report('2023-01-23 12:00+00');
        COMMIT;
        PERFORM store_monitoring.wait_report(id);
        INSERT INTO public.bad_results
            SELECT c.n, r.status, r.attempts, r.error,
                   (SELECT count(*) FROM _store_monitoring_internal.report_result x
                    WHERE x.report_id = id)
            FROM store_monitoring.list_reports() r WHERE r.report_id = id;
        -- Take the bad row out again (the good rows have no twin).
        EXECUTE format('DELETE FROM %s t WHERE ROW(t.*) IS NOT DISTINCT FROM ROW%s', c.relation,
                       c.bad_row);
        COMMIT;
    END LOOP;
END $$;
CALL pg_temp.run_bad_cases();
SELECT n, status, attempts, rows, error FROM public.bad_results ORDER BY n;

-- check_sources() lists every bad row at once, one result row per case.
INSERT INTO public.bad_polls VALUES (NULL, 'active', '2023-01-23 10:00+00'),
    ('B1', NULL, '2023-01-23 10:00+00'), ('B1', 'active', NULL),
    ('B1', 'Active', '2023-01-23 10:00+00'), ('B1', 'active', 'infinity'),
    ('', 'active', '2023-01-23 10:00+00'), (repeat('x', 256), 'active', '2023-01-23 10:00+00');
INSERT INTO public.bad_hours VALUES ('B1', 9, '09:00', '10:00'), ('B1', -1, '09:00', '10:00'),
    ('B1', 1, NULL, '10:00'), ('B1', NULL, '09:00', '10:00');
INSERT INTO public.bad_zones VALUES ('c1', 'UTC'), ('e1', 'Mars/Olympus_Mons'), ('f1', NULL),
    ('g1', '');
SELECT relation, left(store_id, 10) AS store_id, column_name, left(value, 10) AS value, problem
FROM store_monitoring.check_sources()
ORDER BY relation::text, store_id COLLATE "C" NULLS FIRST, column_name, value COLLATE "C";
-- Clean sources: nothing.
SELECT store_monitoring.set_sources();
SELECT count(*) AS bad_rows_in_default_tables FROM store_monitoring.check_sources();

-- A shift that starts at 24:00 in a role's own relation: the default table
-- refuses it, a relation cannot, so check_sources() lists it; a report keeps
-- it as the rules say (an end at or after 23:59:00 means midnight first, so
-- 24:00-24:00 is empty; 24:00-02:00 runs from midnight to 02:00) and
-- completes with the numbers it gave before.
CREATE TABLE public.late_hours (store_id text, day_of_week integer, start_time_local time,
                                end_time_local time);
INSERT INTO public.late_hours VALUES ('L1', 0, '24:00', '24:00'), ('L1', 1, '24:00:00', '02:00'),
    ('L1', 2, '00:00', '00:00'), ('L1', 3, '23:59', '23:59');
SELECT store_monitoring.set_sources(NULL, 'public.late_hours');
SELECT relation, store_id, column_name, value, problem FROM store_monitoring.check_sources()
ORDER BY store_id, column_name, value;
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS late_id \gset
SELECT store_monitoring.wait_report(:'late_id');
SELECT status, attempts, error FROM store_monitoring.list_reports() WHERE report_id = :'late_id';
SELECT store_monitoring.set_sources();
DROP TABLE public.late_hours;

-- Issue 7: a NULL in a default table (NOT NULL dropped) used to crash the
-- worker. Now: Failed, one attempt. (A column whose type changes after the
-- trigger is the public.shape_polls case above; the default tables' import
-- views keep their types from changing.)
ALTER TABLE store_monitoring.store_timezone ALTER COLUMN timezone_str DROP NOT NULL;
INSERT INTO store_monitoring.store_timezone VALUES ('n1', NULL);
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS null_id \gset
SELECT store_monitoring.wait_report(:'null_id');
SELECT status, attempts, error FROM store_monitoring.list_reports() WHERE report_id = :'null_id';
DELETE FROM store_monitoring.store_timezone WHERE store_id = 'n1';
ALTER TABLE store_monitoring.store_timezone ALTER COLUMN timezone_str SET NOT NULL;
-- The default tables still refuse bad rows when they are written.
INSERT INTO store_monitoring.store_status VALUES ('B1', 'Active', '2023-01-23 10:00+00');
INSERT INTO store_monitoring.business_hours VALUES ('B1', 9, '09:00', '10:00');
INSERT INTO store_monitoring.store_timezone VALUES ('e1', 'Mars/Olympus_Mons');

-- A read of a role's sources is a security-restricted operation whose
-- settings are rolled back when it ends: a view that sets search_path for
-- the session (or creates a temporary table) leaves nothing behind.
CREATE FUNCTION public.session_setter(id text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_catalog.set_config('search_path', 'public, pg_catalog', false);
    PERFORM pg_catalog.set_config('regress_sm.mark', 'set by a source', false);
    RETURN id;
END $$;
CREATE VIEW public.setting_polls AS
    SELECT public.session_setter(s.store_id::text) AS store_id, s.status::text AS status,
           s.timestamp_utc
    FROM store_monitoring.store_status s;
CREATE FUNCTION public.temp_maker(id text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    CREATE TEMPORARY TABLE IF NOT EXISTS made_by_a_source (x int);
    RETURN id;
END $$;
CREATE VIEW public.temp_polls AS
    SELECT public.temp_maker(s.store_id::text) AS store_id, s.status::text AS status,
           s.timestamp_utc
    FROM store_monitoring.store_status s;
GRANT SELECT ON public.setting_polls, public.temp_polls TO regress_sm_other;
SET ROLE regress_sm_other;
SET search_path = pg_catalog;
SELECT store_monitoring.set_sources('public.setting_polls');
SELECT count(*) AS bad_rows FROM store_monitoring.check_sources();
SELECT pg_catalog.current_setting('search_path') AS search_path_after,
       pg_catalog.current_setting('regress_sm.mark', true) AS mark_after;
SELECT store_monitoring.latest_poll() IS NOT NULL AS has_latest;
SELECT pg_catalog.current_setting('search_path') AS search_path_after,
       pg_catalog.current_setting('regress_sm.mark', true) AS mark_after;
SELECT store_monitoring.set_sources('public.temp_polls');
SELECT count(*) FROM store_monitoring.check_sources();
SELECT store_monitoring.set_sources();
RESET search_path;
RESET ROLE;
DROP VIEW public.setting_polls, public.temp_polls;
DROP FUNCTION public.session_setter(text), public.temp_maker(text);

DROP PROCEDURE pg_temp.run_bad_cases();
DROP VIEW public.counted_polls;
DROP SEQUENCE public.read_counter;
DROP TABLE public.blind_polls;
DROP COLLATION public.case_blind;
DROP TABLE public.bad_cases, public.bad_results, public.bad_polls, public.bad_hours,
    public.bad_zones, public.shape_polls, public.shape_bigint_id, public.shape_char_id,
    public.shape_int_status, public.shape_half_enum, public.shape_no_zone, public.shape_no_time,
    public.shape_weekday, public.shape_timetz, public.shape_zone_int, public.shape_secret,
    public.polls_by_month, public.opening_hours, public.restaurant_checks, public.shared_polls
    CASCADE;
DROP SEQUENCE public.shape_sequence;
DROP SCHEMA shape_hidden CASCADE;
DROP TYPE public.probe_state, public.half_state;
REVOKE SELECT ON store_monitoring.store_status, store_monitoring.business_hours,
    store_monitoring.store_timezone FROM regress_sm_other;
DROP ROLE regress_sm_other;
