-- The store_monitoring report in plain SQL: no extension code, only
-- PostgreSQL 15 built-ins (window functions, tstzrange, tstzmultirange,
-- range_agg, LATERAL). It is the baseline of bench/run.sh: the report as a
-- skilled PostgreSQL user would write it by hand against the same tables and
-- the same indexes.
--
--   psql -v as_of='2023-01-25 18:13:22.47922+00' -v h='2 hours' -f bench/plain_sql_report.sql
--
-- Output: one row per store found in any of the three input tables, ordered by
-- store_id bytes, with the columns and units of store_monitoring.report_rows():
-- minutes for the last hour, hours for the last day and week, unrounded. It
-- follows the README's "What the numbers mean" with interpolation = nearest (the
-- default); bench/run.sh checks that it gives the extension's numbers on the
-- benchmark data (every value within 1e-6).
--
-- Where it differs from the spec: PostgreSQL's `timestamp AT TIME ZONE zone`
-- resolves local times around daylight-saving changes its own way.
--   * A local time skipped by a spring-forward change (02:30 in New York on
--     2023-03-12) is read with the offset in force before the change, so it
--     becomes 03:30 EDT (07:30 UTC); the spec says the instant of the change
--     (03:00 EDT, 07:00 UTC). So a shift that opens or closes inside the
--     skipped hour opens or closes up to an hour late, and a shift wholly
--     inside it (02:10 to 02:50) gets 40 minutes of open time instead of none.
--   * A local time that happens twice at a fall-back change (01:30 in New
--     York on 2023-11-05) is read with the offset in force after the change
--     (standard time: the later instant, 06:30 UTC); the spec says the earlier
--     one (05:30 UTC).
-- Following the spec there would need each zone's transitions, which
-- PostgreSQL does not expose to SQL. Weeks without a change (the benchmark's
-- 2023-01-18 .. 2023-01-25 in US zones) agree to the microsecond.
-- Midpoints between polls use interval division, which rounds half a
-- microsecond to even; the spec allows either rounding there.
--
-- How it is written for speed (each step measured on the benchmark data):
--   * :'as_of' and :'h' are written inline, so the planner sees the range;
--   * the polls' distinct store ids come from a loose index scan (a recursive
--     CTE doing one index probe per store), not from reading every poll;
--   * each store's evidence is read in time order from the covering index
--     (store_id, timestamp_utc) INCLUDE (status) inside a LATERAL subquery,
--     so deduplication and the window functions need no sort of a million
--     rows (a set-based join + window over all stores spilled to disk and was
--     twice as slow);
--   * JIT is off: its compilation took about a second, half the run time,
--     because the LATERAL subqueries make the planner's cost estimate huge.

BEGIN;
-- Intervals below may hold whole days (halves of long gaps between polls);
-- in UTC a day is always 24 hours.
SET LOCAL TimeZone = 'UTC';
SET LOCAL jit = off;

WITH
-- Every store known to any of the three tables.
stores AS (
    WITH RECURSIVE polled AS (
        (SELECT store_id FROM store_monitoring.store_status ORDER BY store_id LIMIT 1)
        UNION ALL
        SELECT (SELECT s.store_id FROM store_monitoring.store_status s
                WHERE s.store_id > polled.store_id ORDER BY s.store_id LIMIT 1)
        FROM polled WHERE polled.store_id IS NOT NULL
    )
    SELECT store_id FROM polled WHERE store_id IS NOT NULL
    UNION
    SELECT store_id FROM store_monitoring.business_hours
    UNION
    SELECT store_id FROM store_monitoring.store_timezone
),
-- Local calendar dates whose shifts can reach into [T - 168 h - H, T]: a
-- shift ends at most two local days after its date, and local dates are
-- within a day of UTC dates.
local_dates AS (
    SELECT d::date AS d, extract(isodow FROM d)::int - 1 AS day_of_week  -- 0 = Monday
    FROM generate_series(((:'as_of'::timestamptz - interval '168 hours' - :'h'::interval)
                          AT TIME ZONE 'UTC')::date - 2,
                         (:'as_of'::timestamptz AT TIME ZONE 'UTC')::date + 1,
                         interval '1 day') AS d
),
-- Every business-hours row on every matching local date, as UTC instants.
shifts AS (
    SELECT bh.store_id,
           (ld.d + bh.start_time_local) AT TIME ZONE z.tz AS opens,
           (CASE WHEN bh.end_time_local >= time '23:59:00'          -- until midnight
                     THEN (ld.d + 1)::timestamp
                 WHEN bh.end_time_local > bh.start_time_local          -- same day
                     THEN ld.d + bh.end_time_local
                 ELSE (ld.d + 1) + bh.end_time_local                   -- overnight; start = end: 24 h
            END) AT TIME ZONE z.tz AS closes
    FROM store_monitoring.business_hours bh
    LEFT JOIN store_monitoring.store_timezone tz ON tz.store_id = bh.store_id
    CROSS JOIN LATERAL (SELECT coalesce(tz.timezone_str, 'America/Chicago') AS tz) z
    JOIN local_dates ld ON ld.day_of_week = bh.day_of_week
),
-- Open time of each store that has business hours, overlaps merged. A store
-- without any row has no row here and is open all the time.
open_time AS (
    SELECT store_id,
           coalesce(range_agg(tstzrange(opens, closes)) FILTER (WHERE opens < closes),
                    '{}'::tstzmultirange) AS open
    FROM shifts
    GROUP BY store_id
)
SELECT st.store_id,
       (m.up[1] / 60)::float8                   AS uptime_last_hour,
       (m.up[2] / 3600)::float8                 AS uptime_last_day,
       (m.up[3] / 3600)::float8                 AS uptime_last_week,
       ((m.open[1] - m.up[1]) / 60)::float8     AS downtime_last_hour,
       ((m.open[2] - m.up[2]) / 3600)::float8   AS downtime_last_day,
       ((m.open[3] - m.up[3]) / 3600)::float8   AS downtime_last_week
FROM stores st
LEFT JOIN open_time o ON o.store_id = st.store_id
CROSS JOIN LATERAL (
    -- Active time, nearest poll within H: each evidence poll holds from the
    -- midpoint with its predecessor to the midpoint with its successor, and
    -- at most H either side.
    SELECT range_agg(tstzrange(seg_from, seg_to)) FILTER (WHERE active AND seg_from < seg_to) AS active
    FROM (
        SELECT active,
               greatest(at - :'h'::interval, lag(at) OVER w + (at - lag(at) OVER w) / 2) AS seg_from,
               least(at + :'h'::interval, at + (lead(at) OVER w - at) / 2) AS seg_to
        FROM (
            -- Evidence: the store's polls in [T - 168 h - H, T] taken while
            -- it was open; one per instant, inactive wins.
            SELECT s.timestamp_utc AS at, bool_and(s.status = 'active') AS active
            FROM store_monitoring.store_status s
            WHERE s.store_id = st.store_id
              AND s.timestamp_utc >= :'as_of'::timestamptz - interval '168 hours' - :'h'::interval
              AND s.timestamp_utc <= :'as_of'::timestamptz
              AND (o.open IS NULL OR o.open @> s.timestamp_utc)
            GROUP BY s.timestamp_utc
        ) evidence
        WINDOW w AS (ORDER BY at)
    ) segments
) a
CROSS JOIN LATERAL (
    -- Seconds of open time, and of active open time, in each window.
    SELECT array_agg(open_s ORDER BY len) AS open, array_agg(up_s ORDER BY len) AS up
    FROM (VALUES (interval '1 hour'), (interval '24 hours'), (interval '168 hours')) AS win(len)
    CROSS JOIN LATERAL (
        SELECT tstzmultirange(tstzrange(:'as_of'::timestamptz - win.len, :'as_of'::timestamptz))
               * coalesce(o.open, '{(,)}'::tstzmultirange) AS open_in_window
    ) ow
    CROSS JOIN LATERAL (
        SELECT (SELECT coalesce(sum(extract(epoch FROM upper(r) - lower(r))), 0)
                FROM unnest(ow.open_in_window) AS r) AS open_s,
               (SELECT coalesce(sum(extract(epoch FROM upper(r) - lower(r))), 0)
                FROM unnest(ow.open_in_window * coalesce(a.active, '{}'::tstzmultirange)) AS r) AS up_s
    ) s
) m
ORDER BY st.store_id COLLATE "C";

COMMIT;
