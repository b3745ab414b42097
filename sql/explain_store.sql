-- explain_store(): a store's timeline, summing to report_rows() exactly.
\i sql/include/setup.psql
\i sql/include/report_rows.psql

-- 1. The worked example (UTC, Mondays 09:00-12:00, polls 10:14 active and
-- 11:15 inactive, T = Mon 2023-01-23 12:00, H = 2 h). The week starts at the
-- previous Monday's closing time (Jan 16 12:00), so:
--   closed Jan 16 12:00 - Jan 23 09:00 (no row, no poll)
--   up     09:00 - 10:44:30, row (0, 09:00, 12:00), poll 10:14 active
--   down   10:44:30 - 12:00, same row, poll 11:15 inactive (midpoint 10:44:30)
-- Up 1 h 44 min 30 s, down 1 h 15 min 30 s: the report's 1.741667 / 1.258333 h.
INSERT INTO store_monitoring.store_timezone VALUES ('worked_example', 'UTC');
INSERT INTO store_monitoring.business_hours VALUES ('worked_example', 0, '09:00', '12:00');
INSERT INTO store_monitoring.store_status VALUES
    ('worked_example', 'active',   '2023-01-23 10:14:00+00'),
    ('worked_example', 'inactive', '2023-01-23 11:15:00+00');
SET store_monitoring.max_extrapolation = '2 hours';
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS id \gset
SELECT store_monitoring.wait_report(:'id');
SELECT * FROM pg_temp.rows(:'id');
SELECT * FROM store_monitoring.explain_store(:'id', 'worked_example');

-- 2. New York (UTC-5 in January), H = 1 h, T = Tue 2023-01-24 18:00 UTC.
-- Rows: Monday 23:00-00:30 (overnight), Tuesday 09:00-10:00 and 11:00-12:00
-- (split). Polls (UTC): 14:30 active (09:30 local), 15:30 inactive (10:30
-- local, closed: ignored), 16:10 and 16:50 active (11:10, 11:50 local).
-- The week [Jan 17 18:00, Jan 24 18:00) UTC holds:
--   Mon Jan 23 23:00 - Tue 00:30 local = Jan 24 04:00-05:30 UTC: no poll
--     within 1 h: unknown (1.5 h), row (0, 23:00, 00:30)
--   09:00-10:00 local = 14:00-15:00 UTC: up, poll 14:30 (at most 30 min away)
--   15:30 UTC: ignored poll, listed after the closed interval 15:00-16:00
--   11:00-12:00 local = 16:00-17:00 UTC: up, split at the midpoint 16:30 of
--     the polls 16:10 and 16:50, each half naming its poll
-- Week and day: up 2 h, down 1.5 h (all unknown); last hour [17:00, 18:00)
-- closed: 0 and 0.
INSERT INTO store_monitoring.store_timezone VALUES ('new_york', 'America/New_York');
INSERT INTO store_monitoring.business_hours VALUES
    ('new_york', 1, '11:00', '12:00'), ('new_york', 0, '23:00', '00:30'),
    ('new_york', 1, '09:00', '10:00');
INSERT INTO store_monitoring.store_status VALUES
    ('new_york', 'active',   '2023-01-24 14:30+00'),
    ('new_york', 'inactive', '2023-01-24 15:30+00'),
    ('new_york', 'active',   '2023-01-24 16:10+00'),
    ('new_york', 'active',   '2023-01-24 16:50+00');
SET store_monitoring.max_extrapolation = '1 hour';
SELECT store_monitoring.trigger_report('2023-01-24 18:00+00') AS id \gset
SELECT store_monitoring.wait_report(:'id');
SELECT * FROM pg_temp.rows(:'id') WHERE store_id = 'new_york';
SELECT * FROM store_monitoring.explain_store(:'id', 'new_york');

-- The inputs change after the report: without the 14:30 poll, 14:00-15:00
-- has no poll within 1 h (16:10 is 70 min from 15:00), so the timeline no
-- longer gives the report's numbers: a NOTICE and changed_since = true.
DELETE FROM store_monitoring.store_status
WHERE store_id = 'new_york' AND timestamp_utc = '2023-01-24 14:30+00';
SELECT kind, from_utc, to_utc, changed_since
FROM store_monitoring.explain_store(:'id', 'new_york') WHERE kind <> 'closed';

-- Errors: a store in neither the report nor the inputs; a report id that
-- does not exist; NULL store.
SELECT * FROM store_monitoring.explain_store(:'id', 'no_such_store');
SELECT * FROM store_monitoring.explain_store('no_such_report', 'new_york');
SELECT * FROM store_monitoring.explain_store(:'id', NULL);

-- 3. Every store of a generated data set: the timeline's intervals, summed
-- per window, equal report_rows() exactly (float equality: both divide the
-- same microseconds once). 80 stores in five zones (three with a change of
-- clocks in one of the two report weeks) and the default zone; business
-- hours split (two shifts a day), overnight, around 01:30-03:15 on Sundays,
-- 24 h (start = end) and until close of day, or none (open 24x7); polls
-- every 34-78 minutes with gaps of several hours (unknown time) and some
-- same-instant duplicates.
TRUNCATE store_monitoring.store_status, store_monitoring.business_hours,
         store_monitoring.store_timezone;
INSERT INTO store_monitoring.store_timezone
SELECT 'g' || lpad(i::text, 3, '0'),
       (ARRAY['America/New_York', 'Europe/London', 'Australia/Lord_Howe', 'Asia/Kolkata',
              'UTC'])[1 + i % 5]
FROM generate_series(1, 80) i WHERE i % 9 <> 0;
INSERT INTO store_monitoring.business_hours
SELECT 'g' || lpad(i::text, 3, '0'), d, s::time, e::time
FROM generate_series(1, 80) i, generate_series(0, 6) d,
     LATERAL (VALUES
        (i % 4 = 0, '06:00', '10:30'), (i % 4 = 0, '14:15', '22:00'),
        (i % 4 = 1 AND (d + i) % 3 <> 0, '20:00', '02:30'),
        (i % 4 = 2 AND d = 6, '01:30', '03:15'), (i % 4 = 2 AND d < 5, '09:00', '17:00'),
        (i % 4 = 3 AND d = i % 7, '07:00', '07:00'), (i % 4 = 3 AND d = (i + 3) % 7, '00:00', '23:59')
     ) AS r(keep, s, e)
WHERE r.keep AND i % 11 <> 0;
INSERT INTO store_monitoring.store_status
SELECT 'g' || lpad(i::text, 3, '0'),
       CASE WHEN substr(md5(i || ':' || k), 1, 1) < 'b' THEN 'active' ELSE 'inactive' END
           ::store_monitoring.poll_status,
       timestamptz '2023-03-04 00:00+00' + k * (34 + i % 5 * 11) * interval '1 minute'
FROM generate_series(1, 80) i, generate_series(0, 1300) k
WHERE k % 31 NOT BETWEEN 4 AND 9
  AND timestamptz '2023-03-04 00:00+00' + k * (34 + i % 5 * 11) * interval '1 minute'
      < '2023-04-04 00:00+00';
INSERT INTO store_monitoring.store_status
SELECT store_id, 'inactive', timestamp_utc FROM store_monitoring.store_status
WHERE status = 'active' AND extract(minute FROM timestamp_utc)::int % 13 = 0;

-- Sums of one store's timeline per window, in the report's units.
CREATE FUNCTION pg_temp.explained(id text, store text, as_of timestamptz)
RETURNS TABLE (up_h float8, up_d float8, up_w float8, down_h float8, down_d float8,
               down_w float8, changed boolean)
LANGUAGE sql AS $$
    SELECT coalesce(sum(us) FILTER (WHERE kind = 'up' AND len = 1), 0)::float8 / 60e6,
           coalesce(sum(us) FILTER (WHERE kind = 'up' AND len = 24), 0)::float8 / 3600e6,
           coalesce(sum(us) FILTER (WHERE kind = 'up' AND len = 168), 0)::float8 / 3600e6,
           coalesce(sum(us) FILTER (WHERE kind <> 'up' AND len = 1), 0)::float8 / 60e6,
           coalesce(sum(us) FILTER (WHERE kind <> 'up' AND len = 24), 0)::float8 / 3600e6,
           coalesce(sum(us) FILTER (WHERE kind <> 'up' AND len = 168), 0)::float8 / 3600e6,
           bool_or(changed_since)
    FROM store_monitoring.explain_store(id, store) e,
         LATERAL (SELECT len, (extract(epoch FROM greatest(interval '0',
                      e.to_utc - greatest(e.from_utc, as_of - len * interval '1 hour')))
                      * 1000000)::bigint AS us
                  FROM (VALUES (1), (24), (168)) v(len)) w
    WHERE e.kind IN ('up', 'down', 'unknown')
$$;
CREATE FUNCTION pg_temp.check_all(id text)
RETURNS TABLE (stores bigint, sums_differ bigint, flagged_changed bigint)
LANGUAGE sql AS $$
    SELECT count(*),
           count(*) FILTER (WHERE (x.up_h, x.up_d, x.up_w, x.down_h, x.down_d, x.down_w)
               IS DISTINCT FROM (r.uptime_last_hour, r.uptime_last_day, r.uptime_last_week,
                                 r.downtime_last_hour, r.downtime_last_day, r.downtime_last_week)),
           count(*) FILTER (WHERE x.changed)
    FROM store_monitoring.report_rows(id) r,
         LATERAL pg_temp.explained(id, r.store_id,
             (SELECT as_of FROM store_monitoring.get_report(id))) x
$$;
-- What the timelines hold over both reports' stores (so the check covers
-- every kind), counted below.
CREATE TEMP TABLE kinds (kind text);

-- Week of New York's spring forward (Sun 2023-03-12), H = 2 h, nearest.
SET store_monitoring.max_extrapolation = '2 hours';
SET store_monitoring.interpolation = 'nearest';
SELECT store_monitoring.trigger_report('2023-03-13 10:00+00') AS id \gset
SELECT store_monitoring.wait_report(:'id');
SELECT * FROM pg_temp.check_all(:'id');
INSERT INTO kinds SELECT e.kind FROM store_monitoring.report_rows(:'id') r,
    LATERAL store_monitoring.explain_store(:'id', r.store_id) e;

-- Week of London's spring forward (Sun 2023-03-26) and Lord Howe's half-hour
-- step back (Sun 2023-04-02), H = 50 min, carried forward.
SET store_monitoring.max_extrapolation = '50 minutes';
SET store_monitoring.interpolation = 'previous';
SELECT store_monitoring.trigger_report('2023-04-02 17:00+00') AS id \gset
SELECT store_monitoring.wait_report(:'id');
SELECT * FROM pg_temp.check_all(:'id');
INSERT INTO kinds SELECT e.kind FROM store_monitoring.report_rows(:'id') r,
    LATERAL store_monitoring.explain_store(:'id', r.store_id) e;
SELECT kind, count(*) > 0 AS present FROM kinds GROUP BY kind ORDER BY kind;

-- store_timeline() refuses what a report would: no infinite time, max_extrapolation
-- of fixed length within 7 days, interpolation nearest or previous, weekdays 0-6.
SELECT count(*) FROM store_monitoring.store_timeline('infinity', '2 hours', 'nearest', 'UTC',
    '{}', '{}', '{}', '{}', '{}');
SELECT count(*) FROM store_monitoring.store_timeline('2023-01-23 12:00+00', '1 month', 'nearest',
    'UTC', '{}', '{}', '{}', '{}', '{}');
SELECT count(*) FROM store_monitoring.store_timeline('2023-01-23 12:00+00', '8 days', 'nearest',
    'UTC', '{}', '{}', '{}', '{}', '{}');
SELECT count(*) FROM store_monitoring.store_timeline('2023-01-23 12:00+00', '2 hours', 'linear',
    'UTC', '{}', '{}', '{}', '{}', '{}');
SELECT count(*) FROM store_monitoring.store_timeline('2023-01-23 12:00+00', '2 hours', 'nearest',
    'UTC', '{7}', '{09:00}', '{17:00}', '{}', '{}');
SELECT count(*) FROM store_monitoring.store_timeline('2023-01-23 12:00+00', '2 hours', 'nearest',
    'UTC', '{}', '{}', '{}', '{-infinity}', '{true}');
-- Nor more polls or business-hours rows than its working memory is bounded
-- for (500 000 and 1 000): refused before any is copied.
SELECT count(*) FROM store_monitoring.store_timeline('2023-01-23 12:00+00', '2 hours', 'nearest',
    'UTC', '{}', '{}', '{}',
    array_fill(timestamptz '2023-01-23 10:00+00', '{500001}'), array_fill(true, '{500001}'));
SELECT count(*) FROM store_monitoring.store_timeline('2023-01-23 12:00+00', '2 hours', 'nearest',
    'UTC', array_fill(0::smallint, '{1001}'), array_fill(time '09:00', '{1001}'),
    array_fill(time '17:00', '{1001}'), '{}', '{}');
-- At the limit it is computed.
SELECT count(*) FROM store_monitoring.store_timeline('2023-01-23 12:00+00', '2 hours', 'nearest',
    'UTC', array_fill(0::smallint, '{1000}'), array_fill(time '09:00', '{1000}'),
    array_fill(time '17:00', '{1000}'),
    array_fill(timestamptz '2023-01-23 10:00+00', '{500000}'), array_fill(true, '{500000}'));
-- The same arguments, valid, give a timeline.
SELECT count(*) > 0 AS has_timeline FROM store_monitoring.store_timeline('2023-01-23 12:00+00',
    '2 hours', 'previous', 'UTC', '{0}', '{09:00}', '{17:00}', '{2023-01-23 10:00+00}', '{true}');
