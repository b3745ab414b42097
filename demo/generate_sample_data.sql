-- Deterministic sample data for store_monitoring, in plain SQL.
--
--   psql -d DB -f demo/generate_sample_data.sql [-v stores=3000] [-v days=8] [-v seed=1] [-v replace=1]
--
-- Writes into store_monitoring.store_timezone, business_hours and store_status
-- (the extension must exist in DB). The tables must be empty unless
-- -v replace=1 is given, which empties them first. Everything happens in one
-- transaction: an error loads nothing.
--
-- The data has the shape of the public "Loop store monitoring" sample:
--   * store ids: 64-bit integers written in decimal for most stores, UUIDs for ~3%;
--   * time zones: five US zones; ~10% of stores have no time-zone row, so the
--     report puts them in America/Chicago;
--   * business hours: ~15% of stores have none (open 24x7); the others get
--     regular shifts (10:00-22:00 style), split shifts (11:00-14:00 + 17:00-22:00),
--     overnight shifts (18:00-02:00 as one row, or cut at midnight as the public
--     data writes them: 18:00-23:59:59 plus 00:00-02:00 the next day), all-day
--     rows (00:00:00-23:59:59 or -23:59:00), late closers (11:00-23:59:59), and
--     some stores closed on one or two weekdays;
--   * polls: about one per store per hour (a few stores twice an hour, some
--     stores with gaps) over :days days ending at 2023-01-25 18:13:22.47922 UTC,
--     the public file's maximum, which is itself a poll; each poll lies in the
--     first 15 minutes of its hour, with microsecond fractions; a few exact
--     duplicate rows;
--   * status: while a store is open, outages come in blocks of 2-12
--     consecutive hours (the status is a hash of the store and the block, not a
--     coin flip per poll), with a per-store outage rate from "rarely" to "dead";
--     while a store is closed its polls are mostly inactive. About a fifth of all
--     polls are inactive;
--   * ~1% of stores have hours and a time zone but are never polled.
--
-- Deterministic: the same stores/days/seed give the same rows on any machine
-- (every random choice is an md5 of the seed, a tag and the row's coordinates;
-- no random(), so plan shape and parallelism do not matter).

\set ON_ERROR_STOP 1
\if :{?stores}
\else
\set stores 3000
\endif
\if :{?days}
\else
\set days 8
\endif
\if :{?seed}
\else
\set seed 1
\endif
\if :{?replace}
\else
\set replace 0
\endif

\echo generating sample data: stores=:stores days=:days seed=:seed

BEGIN;

SET LOCAL search_path = pg_catalog, pg_temp;
-- The time zone of the session only matters for text output; make it fixed.
SET LOCAL TimeZone = 'UTC';

SELECT :'stores'::int AS sm_stores, :'days'::int AS sm_days, :'seed'::text AS sm_seed,
       :'replace'::bool AS sm_replace
\gset
-- psql does not interpolate into the DO body; pass the values as settings.
SELECT set_config('store_monitoring_demo.stores', :'sm_stores', true),
       set_config('store_monitoring_demo.days', :'sm_days', true)
\g /dev/null
DO $$
DECLARE
    n_stores int := current_setting('store_monitoring_demo.stores')::int;
    n_days int := current_setting('store_monitoring_demo.days')::int;
BEGIN
    IF n_stores < 1 OR n_stores > 10000000 THEN
        RAISE EXCEPTION 'stores must be between 1 and 10000000, not %', n_stores;
    END IF;
    IF n_days < 1 OR n_days > 366 THEN
        RAISE EXCEPTION 'days must be between 1 and 366, not %', n_days;
    END IF;
END
$$;

\if :sm_replace
TRUNCATE store_monitoring.store_status, store_monitoring.business_hours,
         store_monitoring.store_timezone;
\else
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM store_monitoring.store_status)
       OR EXISTS (SELECT 1 FROM store_monitoring.business_hours)
       OR EXISTS (SELECT 1 FROM store_monitoring.store_timezone) THEN
        RAISE EXCEPTION 'store_monitoring input tables are not empty'
            USING HINT = 'Run with -v replace=1 to empty them first.';
    END IF;
END
$$;
\endif

-- u(key): a uniform number in [0, 1) from the first 52 bits of md5(key).
CREATE FUNCTION pg_temp.u(key text) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT (('x' || substr(md5(key), 1, 13))::bit(52)::bigint)::double precision / 4503599627370496.0 $$;

-- uh(hex, n): the n-th (1..4) 32-bit slice of a 32-digit hex string as a number in [0, 1).
CREATE FUNCTION pg_temp.uh(hex text, n int) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT (('x' || substr(hex, 8 * n - 7, 8))::bit(32)::bigint)::double precision / 4294967296.0 $$;

-----------------------------------------------------------------------------
-- Stores and their parameters
-----------------------------------------------------------------------------
CREATE TEMP TABLE gen_store ON COMMIT DROP AS
SELECT i,
       -- 64-bit decimal ids like the public data; ~3% UUIDs like newer variants
       CASE WHEN pg_temp.u(:'sm_seed' || '/uuid/' || i) < 0.03
            THEN md5(:'sm_seed' || '/id/' || i)::uuid::text
            ELSE (('x' || substr(md5(:'sm_seed' || '/id/' || i), 1, 16))::bit(64)::bigint
                  & 9223372036854775807)::text
       END AS store_id,
       CASE WHEN tz_u < 0.10 THEN NULL                  -- no row: America/Chicago
            WHEN tz_u < 0.42 THEN 'America/New_York'
            WHEN tz_u < 0.64 THEN 'America/Chicago'
            WHEN tz_u < 0.84 THEN 'America/Los_Angeles'
            WHEN tz_u < 0.92 THEN 'America/Denver'
            ELSE 'America/Phoenix'
       END AS timezone_str,
       CASE WHEN shape_u < 0.16 THEN 'none'             -- 24x7
            WHEN shape_u < 0.36 THEN 'regular'
            WHEN shape_u < 0.44 THEN 'split'
            WHEN shape_u < 0.50 THEN 'overnight'        -- one row 18:00-02:00
            WHEN shape_u < 0.56 THEN 'overnight_cut'    -- 18:00-23:59:59 + 00:00-02:00
            WHEN shape_u < 0.80 THEN 'allday'
            ELSE 'late'
       END AS shape,
       pg_temp.u(:'sm_seed' || '/variant/' || i) AS variant_u,
       pg_temp.u(:'sm_seed' || '/closed/' || i) AS closed_u,
       pg_temp.u(:'sm_seed' || '/weekend/' || i) < 0.35 AS weekend_late,
       -- polling: most stores poll every hour, some miss polls, a few poll twice an hour
       CASE WHEN poll_u < 0.60 THEN 0.01 WHEN poll_u < 0.90 THEN 0.05 ELSE 0.25 END AS p_miss,
       pg_temp.u(:'sm_seed' || '/twice/' || i) < 0.03 AS twice,
       pg_temp.u(:'sm_seed' || '/silent/' || i) < 0.01 AS never_polled,
       -- outages while open: blocks of k consecutive hours, each down with probability p_out
       (ARRAY[2, 2, 3, 4, 6, 8, 12])[1 + floor(pg_temp.u(:'sm_seed' || '/k/' || i) * 7)::int] AS k,
       CASE WHEN out_u < 0.55 THEN 0.01
            WHEN out_u < 0.80 THEN 0.05
            WHEN out_u < 0.91 THEN 0.12
            WHEN out_u < 0.97 THEN 0.35
            ELSE 0.95                                   -- practically dead
       END AS p_out,
       floor(pg_temp.u(:'sm_seed' || '/phase/' || i) * 12)::int AS phase
FROM generate_series(1, :sm_stores) AS i,
     LATERAL (SELECT pg_temp.u(:'sm_seed' || '/tz/' || i) AS tz_u,
                     pg_temp.u(:'sm_seed' || '/shape/' || i) AS shape_u,
                     pg_temp.u(:'sm_seed' || '/poll/' || i) AS poll_u,
                     pg_temp.u(:'sm_seed' || '/out/' || i) AS out_u) AS r;

INSERT INTO store_monitoring.store_timezone (store_id, timezone_str)
SELECT store_id, timezone_str FROM gen_store WHERE timezone_str IS NOT NULL ORDER BY i;

-----------------------------------------------------------------------------
-- Business hours
-----------------------------------------------------------------------------
WITH day AS (
    SELECT s.*, d AS dow,
           -- Fri (4) and Sat (5) close an hour later for some stores
           CASE WHEN s.weekend_late AND d IN (4, 5) THEN interval '1 hour' ELSE interval '0' END AS late
    FROM gen_store s, generate_series(0, 6) AS d
    WHERE s.shape <> 'none'
      AND NOT (s.closed_u < 0.12 AND d = 0)                  -- closed on Mondays
      AND NOT (s.closed_u >= 0.12 AND s.closed_u < 0.20 AND d = 6)  -- closed on Sundays
      AND NOT (s.closed_u >= 0.20 AND s.closed_u < 0.24 AND d IN (5, 6))  -- closed at weekends
),
shift AS (
    SELECT day.i, day.store_id, day.dow, v.st, v.en
    FROM day, LATERAL (
        SELECT * FROM (VALUES
            -- regular: opens 06:00-11:00, closes 20:00-23:00
            (day.shape = 'regular',
             (ARRAY[time '06:00', '07:00', '08:00', '09:00', '10:00', '10:00', '10:30', '11:00', '11:00'])
                 [1 + floor(day.variant_u * 9)::int],
             (ARRAY[time '20:00', '21:00', '21:30', '22:00', '22:00', '23:00'])
                 [1 + floor(day.closed_u * 6)::int] + day.late),
            -- split: lunch and dinner
            (day.shape = 'split',
             CASE WHEN day.variant_u < 0.5 THEN time '11:00' ELSE time '11:30' END,
             CASE WHEN day.closed_u < 0.6 THEN time '14:00' ELSE time '15:00' END),
            (day.shape = 'split',
             CASE WHEN day.variant_u < 0.7 THEN time '17:00' ELSE time '17:30' END,
             CASE WHEN day.variant_u < 0.4 THEN time '21:00' ELSE time '22:00' END + day.late),
            -- overnight as one row whose end is before its start
            (day.shape = 'overnight',
             (ARRAY[time '17:00', '18:00', '18:00', '20:00'])[1 + floor(day.variant_u * 4)::int],
             (ARRAY[time '01:00', '02:00', '02:00', '03:00'])[1 + floor(day.variant_u * 4)::int]),
            -- overnight cut at midnight, as the public data writes it
            (day.shape = 'overnight_cut',
             (ARRAY[time '16:00', '18:00', '19:00'])[1 + floor(day.variant_u * 3)::int],
             CASE WHEN day.variant_u < 0.5 THEN time '23:59:59' ELSE time '23:59:00' END),
            (day.shape = 'overnight_cut',
             time '00:00',
             (ARRAY[time '01:00', '02:00', '03:00'])[1 + floor(day.closed_u * 3)::int]),
            -- all day
            (day.shape = 'allday',
             time '00:00',
             CASE WHEN day.variant_u < 0.6 THEN time '23:59:59' ELSE time '23:59:00' END),
            -- late closers: open until the end of the day
            (day.shape = 'late',
             (ARRAY[time '06:00', '07:00', '10:00', '11:00', '11:00'])[1 + floor(day.variant_u * 5)::int],
             CASE WHEN day.closed_u < 0.5 THEN time '23:59:59' ELSE time '23:59:00' END)
        ) AS x(applies, st, en)
        WHERE x.applies
    ) AS v
)
INSERT INTO store_monitoring.business_hours (store_id, day_of_week, start_time_local, end_time_local)
SELECT store_id, dow, st, en FROM shift ORDER BY i, dow, st;

-----------------------------------------------------------------------------
-- Polls
-----------------------------------------------------------------------------
-- Hours 0 .. n-1 start at the top of the hour; the last one is the hour of
-- the end instant, whose polls stop before it.
SELECT timestamptz '2023-01-25 18:13:22.47922+00' AS sm_end,
       date_trunc('hour', timestamptz '2023-01-25 18:13:22.47922+00')
           - make_interval(hours => 24 * :sm_days - 1) AS sm_start,
       24 * :sm_days AS sm_hours
\gset

CREATE TEMP TABLE gen_poll ON COMMIT DROP AS
SELECT s.i, s.store_id, h.h, s.k, s.p_out, s.phase,
       coalesce(s.timezone_str, 'America/Chicago') AS tz,
       -- within the first 15 minutes of the hour (or of its second half),
       -- skewed towards the first minutes, to the microsecond
       :'sm_start'::timestamptz + make_interval(hours => h.h, mins => 30 * slot.n)
           + make_interval(secs => floor(power(pg_temp.uh(m.hex, 2), 1.5) * 900e6) / 1e6) AS ts,
       pg_temp.uh(m.hex, 3) AS u_status,
       pg_temp.uh(m.hex, 4) AS u_dup
FROM gen_store s
CROSS JOIN generate_series(0, :sm_hours - 1) AS h(h)
CROSS JOIN LATERAL (SELECT n FROM generate_series(0, CASE WHEN s.twice THEN 1 ELSE 0 END) AS n) AS slot
CROSS JOIN LATERAL (SELECT md5(:'sm_seed' || '/poll/' || s.i || '/' || h.h || '/' || slot.n) AS hex) AS m
WHERE NOT s.never_polled
  AND pg_temp.uh(m.hex, 1) >= s.p_miss;

DELETE FROM gen_poll WHERE ts >= :'sm_end'::timestamptz;

-- Status: closed -> mostly inactive; open -> the store's outage block decides,
-- with rare one-poll blips.
CREATE TEMP TABLE gen_status ON COMMIT DROP AS
SELECT p.i, p.store_id, p.ts, p.u_dup,
       CASE
           WHEN NOT o.is_open THEN
               CASE WHEN p.u_status < 0.55 THEN 'inactive' ELSE 'active' END
           WHEN pg_temp.u(:'sm_seed' || '/outage/' || p.i || '/' || ((p.h + p.phase) / p.k)) < p.p_out THEN
               CASE WHEN p.u_status < 0.97 THEN 'inactive' ELSE 'active' END
           ELSE
               CASE WHEN p.u_status < 0.005 THEN 'inactive' ELSE 'active' END
       END::store_monitoring.poll_status AS status
FROM gen_poll p
CROSS JOIN LATERAL (
    SELECT (p.ts AT TIME ZONE p.tz) AS loc
) AS l
CROSS JOIN LATERAL (
    SELECT NOT EXISTS (SELECT 1 FROM store_monitoring.business_hours b WHERE b.store_id = p.store_id)
           OR EXISTS (
               SELECT 1 FROM store_monitoring.business_hours b
               WHERE b.store_id = p.store_id
                 AND (
                     -- a shift that starts today
                     (b.day_of_week = extract(isodow FROM l.loc)::int - 1
                      AND l.loc::time >= b.start_time_local
                      AND (b.end_time_local >= time '23:59'
                           OR b.end_time_local <= b.start_time_local
                           OR l.loc::time < b.end_time_local))
                     -- an overnight shift that started yesterday
                     OR (b.day_of_week = (extract(isodow FROM l.loc)::int + 5) % 7
                         AND b.end_time_local < time '23:59'
                         AND b.end_time_local <= b.start_time_local
                         AND l.loc::time < b.end_time_local))
           ) AS is_open
) AS o;

-- Rows in arrival order (hour by hour, interleaved across stores), a few
-- exact duplicates, and the public file's maximum as the last poll.
INSERT INTO store_monitoring.store_status (store_id, status, timestamp_utc)
SELECT store_id, status, ts
FROM (
    SELECT store_id, status, ts, i FROM gen_status
    UNION ALL
    SELECT store_id, status, ts, i FROM gen_status WHERE u_dup < 0.0025
    UNION ALL
    (SELECT store_id, 'active', :'sm_end'::timestamptz, i
     FROM gen_store WHERE NOT never_polled ORDER BY i LIMIT 1)
) AS all_polls
ORDER BY ts, i;

COMMIT;

SELECT (SELECT count(*) FROM store_monitoring.store_timezone) AS timezone_rows,
       (SELECT count(*) FROM store_monitoring.business_hours) AS business_hours_rows,
       (SELECT count(*) FROM store_monitoring.store_status) AS polls,
       (SELECT round(100.0 * count(*) FILTER (WHERE status = 'inactive') / greatest(count(*), 1), 1)
        FROM store_monitoring.store_status) AS inactive_pct,
       (SELECT min(timestamp_utc) FROM store_monitoring.store_status) AS first_poll,
       (SELECT max(timestamp_utc) FROM store_monitoring.store_status) AS last_poll;
