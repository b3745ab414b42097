-- Sealed polls: compact_polls() moves whole UTC days of store_status into
-- sealed_polls, and every read of the default table reads them as the rows
-- they were: the same report to the byte (late and duplicate polls into
-- sealed days, a DST change), store_report, explain_store, check_sources,
-- latest; poll_storage(), the polls view, retention, who may do what.
-- 041_sealed_polls.pl tries random data, a report racing a compaction,
-- compact_after, dump and restore.
\i sql/include/setup.psql
\i sql/include/try.psql

-- New York switches to daylight time on Sunday 2023-03-12 at 02:00 local
-- (07:00 UTC); T = Tuesday 2023-03-14 12:00 UTC.
INSERT INTO store_monitoring.store_timezone VALUES
    ('ny', 'America/New_York'), ('berlin', 'Europe/Berlin');
INSERT INTO store_monitoring.business_hours VALUES
    ('ny', 6, '00:00', '23:59:59'), ('ny', 0, '09:00', '17:00'), ('ny', 1, '22:00', '02:00'),
    ('berlin', 1, '08:00', '20:00'), ('berlin', 5, '10:00', '23:59:59');
-- Polls every 37 minutes from 2023-03-01, with outages; 'twice' has two
-- polls at some instants, one of each status (inactive wins); 'old' has
-- polls long before any evidence range only.
INSERT INTO store_monitoring.store_status
SELECT s.store_id,
       CASE WHEN (i / (2 + s.n)) % 5 = 0 THEN 'inactive' ELSE 'active' END::store_monitoring.poll_status,
       '2023-03-01 00:00+00'::timestamptz + i * interval '37 minutes'
           + s.n * interval '1 minute 0.123457 seconds'
FROM (VALUES ('ny', 0), ('berlin', 1), ('utc24x7', 2), ('twice', 3)) AS s(store_id, n),
     generate_series(0, 14 * 24 * 60 / 37) AS i;
INSERT INTO store_monitoring.store_status
SELECT 'twice', 'inactive', timestamp_utc FROM store_monitoring.store_status
WHERE store_id = 'twice' AND status = 'active' AND extract(hour FROM timestamp_utc) = 3;
INSERT INTO store_monitoring.store_status VALUES
    ('old', 'active', '2022-12-24 10:00+00'), ('old', 'inactive', '2022-12-24 11:00+00');
ANALYZE store_monitoring.store_status;

-- The reports: trigger_report() at each T of `times` commits with its
-- statement, so the next one may wait for them. pg_temp.csvs(tag) waits for
-- the reports of `tag` and returns their CSVs by T.
CREATE TEMP TABLE times (t timestamptz);
INSERT INTO times VALUES ('2023-03-12 08:00+00'), ('2023-03-14 12:00+00'), ('2023-03-15 23:59:59+00');
CREATE TEMP TABLE runs (tag text, t timestamptz, id text);
CREATE FUNCTION pg_temp.csvs(tag text) RETURNS TABLE (t timestamptz, csv text)
LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
    FOR r IN SELECT * FROM runs WHERE runs.tag = csvs.tag ORDER BY runs.t LOOP
        PERFORM store_monitoring.wait_report(r.id, '2 minutes');
        t := r.t;
        csv := (SELECT g.csv FROM store_monitoring.get_report(r.id) g);
        RETURN NEXT;
    END LOOP;
END
$$;
-- pg_temp.same(a, b): T and whether reports `a` and `b` have the same CSV.
CREATE FUNCTION pg_temp.same(a text, b text) RETURNS TABLE (t timestamptz, same boolean)
LANGUAGE sql AS $$
    SELECT x.t, x.csv = y.csv FROM pg_temp.csvs(a) x JOIN pg_temp.csvs(b) y USING (t) ORDER BY 1
$$;
-- Before, across and after the DST change: three different reports.
INSERT INTO runs SELECT 'raw', t, store_monitoring.trigger_report(t) FROM times;
SELECT count(*) AS reports, count(DISTINCT csv) AS distinct_csvs FROM pg_temp.csvs('raw');
CREATE TEMP TABLE raw_polls AS SELECT store_id, status, timestamp_utc FROM store_monitoring.store_status;

-- pg_temp.cut(at): compact_polls with older_than making the cut fall at
-- `at` (rounded down to its UTC day).
CREATE FUNCTION pg_temp.cut(at timestamptz) RETURNS bigint
LANGUAGE sql AS $$ SELECT store_monitoring.compact_polls(now() - at) $$;

-- Half the days sealed (to 2023-03-09), then every day.
SELECT pg_temp.cut('2023-03-09 17:00+00') AS sealed;
SELECT * FROM store_monitoring.poll_storage() AS s(raw_polls, compacted_polls, raw_bytes, compacted_bytes)
    \gset
SELECT :raw_polls + :compacted_polls = (SELECT count(*) FROM raw_polls) AS every_poll_once,
       (SELECT max(timestamp_utc) < '2023-03-09' FROM store_monitoring.polls WHERE sealed) AS sealed_before_cut,
       (SELECT min(timestamp_utc) >= '2023-03-09' FROM store_monitoring.store_status) AS raw_after_cut;
INSERT INTO runs SELECT 'half', t, store_monitoring.trigger_report(t) FROM times;
SELECT * FROM pg_temp.same('raw', 'half');
-- Nothing more before the same cut.
SELECT pg_temp.cut('2023-03-09 17:00+00') AS sealed_again;
-- Late and duplicate polls into sealed days: raw rows until sealed, then
-- merged into their rows. The raw reports are those of the same polls.
INSERT INTO store_monitoring.store_status VALUES
    ('ny', 'inactive', '2023-03-08 14:00:00.5+00'),
    ('berlin', 'active', '2023-03-07 22:00+00'),
    ('newcomer', 'active', '2023-03-08 09:00+00');
INSERT INTO store_monitoring.store_status
SELECT store_id, status, timestamp_utc FROM raw_polls
WHERE store_id = 'twice' AND timestamp_utc BETWEEN '2023-03-08' AND '2023-03-08 06:00';
INSERT INTO raw_polls SELECT * FROM store_monitoring.store_status WHERE timestamp_utc < '2023-03-09';
-- The reports of the same polls unsealed: the same rows read as a user's
-- relation.
CREATE TABLE public.sealed_reference AS SELECT * FROM raw_polls;
SELECT store_monitoring.set_sources('public.sealed_reference');
INSERT INTO runs SELECT 'reference', t, store_monitoring.trigger_report(t) FROM times;
SELECT count(*) AS reference_reports FROM pg_temp.csvs('reference');
SELECT store_monitoring.set_sources();
INSERT INTO runs SELECT 'late', t, store_monitoring.trigger_report(t) FROM times;
SELECT * FROM pg_temp.same('reference', 'late');
-- And the reference is no copy of the first reports: the late polls count.
SELECT * FROM pg_temp.same('raw', 'reference');
SELECT pg_temp.cut('2023-03-09 17:00+00') AS late_polls_sealed;
INSERT INTO runs SELECT 'merged', t, store_monitoring.trigger_report(t) FROM times;
SELECT * FROM pg_temp.same('reference', 'merged');
-- Every day sealed.
SELECT store_monitoring.compact_polls('0') > 0 AS sealed_the_rest;
SELECT raw_polls, compacted_polls = (SELECT count(*) FROM raw_polls) AS every_poll_sealed
FROM store_monitoring.poll_storage();
INSERT INTO runs SELECT 'sealed', t, store_monitoring.trigger_report(t) FROM times;
SELECT * FROM pg_temp.same('reference', 'sealed');
-- The view shows each poll once, as it was.
SELECT (SELECT count(*) FROM (SELECT store_id, status, timestamp_utc FROM store_monitoring.polls
                              EXCEPT ALL SELECT * FROM raw_polls) d) AS only_in_view,
       (SELECT count(*) FROM (SELECT * FROM raw_polls EXCEPT ALL
                              SELECT store_id, status, timestamp_utc FROM store_monitoring.polls) d) AS only_in_raw;
-- One store's row and timeline, and 'latest', as over the raw polls.
SELECT store_monitoring.set_sources('public.sealed_reference');
CREATE TEMP TABLE reference_store AS
SELECT * FROM store_monitoring.store_report('ny', as_of => '2023-03-14 12:00+00');
SELECT store_monitoring.trigger_report('2023-03-14 12:00+00') AS reference_id \gset
SELECT store_monitoring.wait_report(:'reference_id');
SELECT store_monitoring.latest_poll() AS reference_latest \gset
SELECT store_monitoring.set_sources();
SELECT store_monitoring.trigger_report('2023-03-14 12:00+00') AS sealed_id \gset
SELECT store_monitoring.wait_report(:'sealed_id');
SELECT (SELECT r FROM reference_store r) IS NOT DISTINCT FROM
       (SELECT s FROM store_monitoring.store_report('ny', as_of => '2023-03-14 12:00+00') s) AS store_report_same,
       (SELECT array_agg(e ORDER BY e::text) FROM store_monitoring.explain_store(:'reference_id', 'ny') e) IS NOT DISTINCT FROM
       (SELECT array_agg(e ORDER BY e::text) FROM store_monitoring.explain_store(:'sealed_id', 'ny') e) AS explain_same,
       (SELECT count(*) FROM store_monitoring.explain_store(:'sealed_id', 'ny')) > 10 AS explain_has_rows,
       store_monitoring.latest_poll() = :'reference_latest'::timestamptz AS latest_same,
       store_monitoring.store_report('old', as_of => '2023-03-14 12:00+00') IS NOT NULL AS old_store_has_a_row;
SET store_monitoring.report_time = 'latest';
SELECT store_monitoring.trigger_report() AS latest_id \gset
SELECT store_monitoring.wait_report(:'latest_id');
SELECT as_of = :'reference_latest'::timestamptz AS latest_is_newest_sealed_poll
FROM store_monitoring.report_status(:'latest_id');
RESET store_monitoring.report_time;
SELECT count(*) AS bad_rows FROM store_monitoring.check_sources();

-- Retention: whole sealed days that ended 5 days before the newest poll go.
SET store_monitoring.poll_retention = '5 days';
SELECT store_monitoring.compact_polls() AS sealed_with_retention;
SELECT min(day) AS first_day_kept, max(day) AS last_day FROM store_monitoring.sealed_polls;
SELECT compacted_polls = (SELECT count(*) FROM raw_polls
                          WHERE timestamp_utc >= (SELECT min(day) FROM store_monitoring.sealed_polls))
       AS kept_whole_days
FROM store_monitoring.poll_storage();
-- A poll dated in the future (any writer may add one) does not move the
-- horizon past the sealed days: it counts from now() at the latest.
INSERT INTO store_monitoring.store_status VALUES ('future', 'active', '2199-12-31 23:00+00');
SELECT store_monitoring.compact_polls() AS sealed_with_a_future_poll;
SELECT min(day) AS first_day_kept_with_a_future_poll FROM store_monitoring.sealed_polls;
DELETE FROM store_monitoring.store_status WHERE store_id = 'future';
RESET store_monitoring.poll_retention;
SELECT pg_temp.try($$SET store_monitoring.poll_retention = '1 hour 1 month'$$, '');
SELECT pg_temp.try($$SET store_monitoring.compact_after = '-1 day'$$, '');

-- Who may: compact_polls needs EXECUTE (superusers, or granted) and DELETE
-- on store_status; poll_storage and sealed rows need SELECT on its polls.
DROP ROLE IF EXISTS regress_sm_sealer, regress_sm_reader, regress_sm_stranger;
CREATE ROLE regress_sm_sealer;
CREATE ROLE regress_sm_reader;
CREATE ROLE regress_sm_stranger;
GRANT SELECT (store_id, status, timestamp_utc) ON store_monitoring.store_status TO regress_sm_reader;
GRANT SELECT ON store_monitoring.business_hours, store_monitoring.store_timezone TO regress_sm_reader;
GRANT EXECUTE ON FUNCTION store_monitoring.compact_polls(interval) TO regress_sm_sealer, regress_sm_reader;
SET ROLE regress_sm_stranger;
SELECT pg_temp.try($$SELECT store_monitoring.compact_polls()$$, '');
SELECT pg_temp.try($$SELECT store_monitoring.poll_storage()$$, '');
-- Nothing of the sealed rows: not the table, not a count through a
-- filter (EXPLAIN ANALYZE), not the rows through the view's function.
SELECT pg_temp.try($$SELECT count(*) FROM store_monitoring.sealed_polls$$, '');
SELECT pg_temp.try($$EXPLAIN ANALYZE SELECT * FROM store_monitoring.sealed_polls WHERE store_id = 'ny'$$, '');
SELECT pg_temp.try($$SELECT count(*) FROM store_monitoring.sealed_poll_rows('ny')$$, '');
SELECT pg_temp.try($$SELECT count(*) FROM store_monitoring.polls$$, '');
SET ROLE regress_sm_reader;
SELECT pg_temp.try($$SELECT store_monitoring.compact_polls()$$, '');
-- The reader sees every sealed poll through the view (as the superuser
-- does), not the table itself.
SELECT pg_temp.try($$SELECT count(*) FROM store_monitoring.sealed_polls$$, '');
SELECT count(*) FILTER (WHERE sealed) AS sealed_seen, count(*) AS all_seen
FROM store_monitoring.polls \gset reader_
RESET ROLE;
SELECT :reader_sealed_seen = (SELECT compacted_polls FROM store_monitoring.poll_storage())
       AND :reader_sealed_seen > 0 AS reader_sees_every_sealed_poll,
       :reader_all_seen = (SELECT count(*) FROM store_monitoring.polls) AS reader_sees_every_poll;
-- One store's sealed polls in a time range, through the table's keys.
SELECT (SELECT count(*) FROM store_monitoring.sealed_poll_rows('ny', '2023-03-10', '2023-03-11 12:00+00')) =
       (SELECT count(*) FROM store_monitoring.polls WHERE sealed AND store_id = 'ny'
          AND timestamp_utc BETWEEN '2023-03-10' AND '2023-03-11 12:00+00') AS one_store_rows,
       (SELECT count(*) FROM store_monitoring.sealed_poll_rows('ny', '2023-03-10', '2023-03-11 12:00+00')) > 0
           AS one_store_has_rows;
SET ROLE regress_sm_reader;
-- Its own report over the sealed polls has the superuser's numbers.
RESET ROLE;
SELECT store_monitoring.trigger_report('2023-03-14 12:00+00') AS retained_id \gset
SET ROLE regress_sm_reader;
SELECT store_monitoring.trigger_report('2023-03-14 12:00+00') AS reader_id \gset
SELECT store_monitoring.wait_report(:'reader_id');
RESET ROLE;
SELECT store_monitoring.wait_report(:'retained_id');
SELECT (SELECT csv FROM store_monitoring.get_report(:'reader_id')) =
       (SELECT csv FROM store_monitoring.get_report(:'retained_id')) AS reader_same_numbers;
SET ROLE regress_sm_sealer;
SELECT pg_temp.try($$SELECT store_monitoring.compact_polls()$$, '');
RESET ROLE;
GRANT DELETE ON store_monitoring.store_status TO regress_sm_sealer;
SET ROLE regress_sm_sealer;
SELECT pg_temp.try($$SELECT store_monitoring.compact_polls()$$, '');
RESET ROLE;
-- Writes to sealed rows are the extension's own.
SET ROLE regress_sm_reader;
SELECT pg_temp.try($$DELETE FROM store_monitoring.sealed_polls$$, '');
SELECT pg_temp.try($$SELECT _store_monitoring_internal.merge_polls('2023-03-01', ''::bytea, ''::bytea)$$, '');
RESET ROLE;

-- Bytes that are not sealed polls are refused, never read.
SELECT pg_temp.try($$SELECT * FROM store_monitoring.unpack_polls('2023-03-01', '\x0102'::bytea)$$, '');
SELECT pg_temp.try($$SELECT * FROM store_monitoring.unpack_polls('2023-03-01', '\x01018080808080808001'::bytea)$$, '');
SELECT * FROM store_monitoring.unpack_polls('2023-03-01', '\x010103'::bytea);
SELECT pg_temp.try($$SELECT * FROM store_monitoring.unpack_polls('infinity', '\x010103'::bytea)$$, '');
SELECT pg_temp.try($$SELECT * FROM store_monitoring.unpack_polls('5874897-12-31', '\x010103'::bytea)$$, '');
-- A row of many polls is unpacked poll by poll (the result spills past
-- work_mem; nothing holds the row's polls whole).
SELECT count(*) AS polls_of_a_large_row FROM store_monitoring.unpack_polls('2023-03-01',
    '\x01e0cfd501'::bytea || decode(repeat('00', 3500000), 'hex'));

-- What compaction refuses: row-level security on store_status (sealed
-- rows could not follow its policies; reads of sealed polls refuse it too),
-- a DELETE trigger (a move is no delete).
INSERT INTO store_monitoring.store_status VALUES ('ny', 'active', '2023-03-20 10:00+00');
ALTER TABLE store_monitoring.store_status ENABLE ROW LEVEL SECURITY;
SELECT pg_temp.try($$SELECT store_monitoring.compact_polls('0')$$, '');
-- Sealed rows are hidden from readers then, as no policy of store_status
-- can be applied to them.
SET ROLE regress_sm_reader;
SELECT pg_temp.try($$SELECT count(*) FROM store_monitoring.polls WHERE sealed$$, '');
RESET ROLE;
SELECT pg_temp.try($$SELECT store_monitoring.store_report('ny', as_of => '2023-03-14 12:00+00')$$, '');
ALTER TABLE store_monitoring.store_status DISABLE ROW LEVEL SECURITY;
CREATE FUNCTION public.sealed_no_delete() RETURNS trigger LANGUAGE plpgsql AS
    $$BEGIN RAISE EXCEPTION 'deleted'; END$$;
CREATE TRIGGER no_delete BEFORE DELETE ON store_monitoring.store_status
    FOR EACH ROW EXECUTE FUNCTION public.sealed_no_delete();
SELECT pg_temp.try($$SELECT store_monitoring.compact_polls('0')$$, '');
ALTER TABLE store_monitoring.store_status DISABLE TRIGGER no_delete;
SELECT store_monitoring.compact_polls('0') AS sealed_with_trigger_disabled;
DROP TRIGGER no_delete ON store_monitoring.store_status;
DROP FUNCTION public.sealed_no_delete();

-- DROP EXTENSION without CASCADE is refused while sealed polls exist, and
-- only they.
TRUNCATE store_monitoring.business_hours, store_monitoring.store_timezone;
SELECT count(*) AS raw_rows FROM store_monitoring.store_status;
SELECT pg_temp.try($$DROP EXTENSION store_monitoring$$, '');

DROP TABLE public.sealed_reference;
REVOKE ALL ON store_monitoring.store_status, store_monitoring.business_hours,
    store_monitoring.store_timezone FROM regress_sm_reader, regress_sm_sealer;
REVOKE ALL ON FUNCTION store_monitoring.compact_polls(interval) FROM regress_sm_sealer, regress_sm_reader;
DROP ROLE regress_sm_sealer, regress_sm_reader, regress_sm_stranger;
TRUNCATE store_monitoring.sealed_polls, _store_monitoring_internal.sealed_day;
