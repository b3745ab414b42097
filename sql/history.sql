-- A report reads only its evidence range [T - 168 h - H, T] of the polls:
-- over a table holding ten weeks of polls it gives, store by store, exactly
-- the numbers of a report over only the polls of that range, and a store
-- whose polls all lie before the range still gets its row.
\i sql/include/setup.psql

\i sql/include/report_rows.psql

-- T = Monday 2023-01-23 12:00 UTC, H = 2 hours: the evidence range is
-- [2023-01-16 10:00, 2023-01-23 12:00].
INSERT INTO store_monitoring.store_timezone VALUES
    ('hist_ny', 'America/New_York'), ('hist_utc', 'UTC'), ('old_with_hours', 'UTC');
INSERT INTO store_monitoring.business_hours VALUES
    ('hist_ny', 0, '09:00', '17:00'), ('hist_ny', 1, '09:00', '17:00'),
    ('hist_ny', 6, '22:00', '23:59:59'),
    ('hist_utc', 0, '00:00', '12:00'), ('hist_utc', 3, '08:00', '20:00'),
    ('old_with_hours', 0, '08:00', '12:00');
-- Ten weeks of polls (2022-11-14 .. 2023-01-24, past T) for three stores, one
-- every 47 minutes, with outages of varying length; hist_24x7 has no hours
-- and no zone.
INSERT INTO store_monitoring.store_status
SELECT s.store_id,
       CASE WHEN (i / (3 + s.n)) % 4 = 0 THEN 'inactive' ELSE 'active' END::store_monitoring.poll_status,
       '2022-11-14 00:00+00'::timestamptz + i * interval '47 minutes' + s.n * interval '7 minutes'
FROM (VALUES ('hist_ny', 0), ('hist_utc', 1), ('hist_24x7', 2)) AS s(store_id, n),
     generate_series(0, 10 * 7 * 24 * 60 / 47) AS i;
-- The edges of the range: a poll exactly at T - 168 h - H counts, one a
-- microsecond earlier does not; a poll exactly at T counts, one a microsecond
-- later does not.
INSERT INTO store_monitoring.store_status VALUES
    ('edges', 'inactive', '2023-01-16 09:59:59.999999+00'),
    ('edges', 'active',   '2023-01-16 10:00:00+00'),
    ('edges', 'inactive', '2023-01-23 12:00:00+00'),
    ('edges', 'active',   '2023-01-23 12:00:00.000001+00'),
    -- Polls only before the range: old_only is known only by them (no hours,
    -- no zone: 24x7), old_with_hours also by its hours. All their open time
    -- is unknown: up 0; down 60 min / 24 h / 168 h for old_only, and for
    -- old_with_hours (Monday 08:00-12:00 UTC) 60 min / 4 h / 4 h (Jan 16
    -- 08:00-12:00 ends where the week starts, 12:00).
    ('old_only', 'active', '2022-11-20 12:00+00'),
    ('old_only', 'active', '2023-01-16 09:59:59.999999+00'),
    ('old_with_hours', 'active', '2022-12-26 09:00+00');
ANALYZE store_monitoring.store_status;

SET store_monitoring.max_extrapolation = '2 hours';
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS full_id \gset
SELECT store_monitoring.wait_report(:'full_id');
CREATE TEMP TABLE full_rows AS SELECT * FROM store_monitoring.report_rows(:'full_id');

-- The same report over only the polls of the evidence range.
DELETE FROM store_monitoring.store_status
WHERE timestamp_utc < '2023-01-23 12:00+00'::timestamptz - interval '168 hours' - interval '2 hours'
   OR timestamp_utc > '2023-01-23 12:00+00';
-- Vacuumed and holding only the range. Both reports read the range in heap
-- order; 022_read_paths.pl checks that read against the store-order one.
VACUUM store_monitoring.store_status;
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS range_id \gset
SELECT store_monitoring.wait_report(:'range_id');

-- Stores whose numbers differ, or that only one report has: old_only only
-- (its polls were all deleted, and no other input knows it).
SELECT coalesce(f.store_id, r.store_id) AS store_id,
       f.store_id IS NOT NULL AS in_full_report, r.store_id IS NOT NULL AS in_range_report
FROM full_rows f FULL JOIN store_monitoring.report_rows(:'range_id') r USING (store_id)
WHERE f IS DISTINCT FROM r
ORDER BY 1;
-- Both reports have the same number of stores apart from old_only (6 and 5),
-- and the rows equal above are not all alike (the comparison is not empty).
SELECT count(*) AS stores, count(DISTINCT (uptime_last_week, downtime_last_week)) AS distinct_weeks
FROM full_rows;
SELECT count(*) AS stores FROM store_monitoring.report_rows(:'range_id');
-- The rows of the stores with no poll in the range, from the full report.
SELECT * FROM pg_temp.rows(:'full_id') WHERE store_id LIKE 'old%';
