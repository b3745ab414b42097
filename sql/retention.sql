-- Reports over time: unknown time in report_rows(), labels and
-- latest_report(), list_reports() filters, delete_report(), purge_reports()
-- and the report_retention setting. Roles are named regress_sm_ret_*.
\i sql/include/setup.psql
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_sm_ret_a, regress_sm_ret_b;
RESET client_min_messages;
CREATE ROLE regress_sm_ret_a;
CREATE ROLE regress_sm_ret_b;
GRANT SELECT ON store_monitoring.store_status, store_monitoring.business_hours,
                store_monitoring.store_timezone TO regress_sm_ret_a, regress_sm_ret_b;

\i sql/include/try.psql

-----------------------------------------------------------------------------
-- Unknown time. Two 24x7 stores in UTC, T = Mon 2023-01-23 12:00, H = 2 h.
-- 'life': one active poll at 11:00 -> up [09:00, 12:00) = 3 h (cut at T).
--   hour [11:00, 12:00): up 60 min, down 0, unknown 0.
--   day: up 3 h; down 21 h, all of it unknown (no poll within 2 h).
--   week: up 3 h; down 165 h, all unknown.
-- 'mixed': one inactive poll at 06:00 -> down (known) [04:00, 08:00) = 4 h.
--   hour: down 60 min, all unknown (06:00 is more than 2 h before 11:00).
--   day: down 24 h, unknown 20 h. week: down 168 h, unknown 164 h.
-- CSV (downtime includes unknown, as in 1.0):
--   life,60.00,3.00,3.00,0.00,21.00,165.00
--   mixed,0.00,0.00,0.00,60.00,24.00,168.00
-----------------------------------------------------------------------------
INSERT INTO store_monitoring.store_timezone VALUES ('life', 'UTC'), ('mixed', 'UTC');
INSERT INTO store_monitoring.store_status VALUES
    ('life', 'active', '2023-01-23 11:00+00'),
    ('mixed', 'inactive', '2023-01-23 06:00+00');
SET ROLE regress_sm_ret_a;
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00', label => 'hourly') AS h1 \gset
SELECT store_monitoring.wait_report(:'h1');
\a\t
SELECT csv FROM store_monitoring.get_report(:'h1');
\a\t
SELECT store_id, round(uptime_last_hour::numeric, 6) AS up_h,
       round(downtime_last_hour::numeric, 6) AS down_h,
       round(unknown_last_hour::numeric, 6) AS unk_h,
       round(downtime_last_day::numeric, 6) AS down_d,
       round(unknown_last_day::numeric, 6) AS unk_d,
       round(downtime_last_week::numeric, 6) AS down_w,
       round(unknown_last_week::numeric, 6) AS unk_w
FROM store_monitoring.report_rows(:'h1') ORDER BY store_id COLLATE "C";

-----------------------------------------------------------------------------
-- Labels, latest_report() and list_reports() filters.
-----------------------------------------------------------------------------
SELECT store_monitoring.trigger_report('2023-01-23 11:30+00', label => 'hourly') AS h2 \gset
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00', label => 'daily') AS d1 \gset
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS n1 \gset
SELECT store_monitoring.wait_report(:'h2'), store_monitoring.wait_report(:'d1'),
       store_monitoring.wait_report(:'n1');
-- h2 was triggered after h1: newest first.
SELECT report_id = :'h2' AS is_h2, report_id = :'h1' AS is_h1, label, as_of
FROM store_monitoring.list_reports(label => 'hourly');
SELECT store_monitoring.latest_report('hourly') = :'h2' AS latest_hourly_is_h2,
       store_monitoring.latest_report('daily') = :'d1' AS latest_daily_is_d1,
       store_monitoring.latest_report('weekly') IS NULL AS no_weekly;
-- Newest first overall; limit; status and since filters.
SELECT array_agg(report_id = ANY (ARRAY[:'n1', :'d1', :'h2', :'h1'])) AS all_four,
       (array_agg(report_id))[1] = :'n1' AS newest_first,
       (array_agg(report_id))[4] = :'h1' AS oldest_last
FROM store_monitoring.list_reports();
SELECT report_id = :'n1' AS limit_1_is_newest FROM store_monitoring.list_reports("limit" => 1);
SELECT count(*) AS complete FROM store_monitoring.list_reports(status => 'Complete');
SELECT count(*) AS failed FROM store_monitoring.list_reports(status => 'Failed');
SELECT count(*) AS since_future FROM store_monitoring.list_reports(since => now() + interval '1 hour');
SELECT count(*) AS since_past FROM store_monitoring.list_reports(since => now() - interval '1 hour');
SELECT count(*) AS limit_0 FROM store_monitoring.list_reports("limit" => 0);
SELECT * FROM store_monitoring.list_reports(status => 'complete');
SELECT * FROM store_monitoring.list_reports("limit" => -1);
SELECT store_monitoring.latest_report(NULL);

-- Another role sees none of them, by label or otherwise.
SET ROLE regress_sm_ret_b;
SELECT store_monitoring.latest_report('hourly') IS NULL AS b_sees_no_hourly;
SELECT count(*) AS b_lists FROM store_monitoring.list_reports(label => 'hourly');

-----------------------------------------------------------------------------
-- delete_report(): the owner's finished reports, results included; any
-- other id gets the error of an unknown id.
-----------------------------------------------------------------------------
SELECT pg_temp.try('SELECT store_monitoring.delete_report($1)', :'h1') AS b_deletes_a,
       pg_temp.try('SELECT store_monitoring.delete_report($1)', :'h1')
       = pg_temp.try('SELECT store_monitoring.delete_report($1)', 'AAAAAAAAAAAAAAAA') AS same_as_unknown;
SET ROLE regress_sm_ret_a;
SELECT store_monitoring.delete_report(:'h1');
SELECT pg_temp.try('SELECT * FROM store_monitoring.get_report($1)', :'h1') AS after_delete;
SELECT pg_temp.try('SELECT store_monitoring.delete_report($1)', :'h1') AS delete_again;
SELECT store_monitoring.delete_report(NULL);
RESET ROLE;
SELECT count(*) AS h1_rows_left FROM _store_monitoring_internal.report WHERE report_id = :'h1';
SELECT count(*) AS h1_results_left FROM _store_monitoring_internal.report_output
WHERE report_id = :'h1';
SELECT store_monitoring.latest_report('hourly') = :'h2' AS latest_hourly_still_h2;
-- A Running report cannot be deleted (here: inside its triggering transaction).
SET ROLE regress_sm_ret_a;
BEGIN;
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS r1 \gset
SELECT pg_temp.try('SELECT store_monitoring.delete_report($1)', :'r1') AS delete_running;
ROLLBACK;
-- A superuser's DELETE takes the results with it too.
RESET ROLE;
DELETE FROM _store_monitoring_internal.report WHERE report_id = :'d1';
SELECT count(*) AS d1_results_left FROM _store_monitoring_internal.report_output
WHERE report_id = :'d1';

-----------------------------------------------------------------------------
-- purge_reports(older_than): the caller's reports finished longer ago.
-----------------------------------------------------------------------------
SET ROLE regress_sm_ret_b;
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS b1 \gset
SELECT store_monitoring.wait_report(:'b1');
SET ROLE regress_sm_ret_a;
SELECT store_monitoring.purge_reports(NULL);
SELECT store_monitoring.purge_reports('-1 second');
-- Finished less than a day ago: nothing to purge.
SELECT store_monitoring.purge_reports('1 day') AS purged_1_day;
-- All of a's finished reports (h2, n1); b's stays.
SELECT store_monitoring.purge_reports('0') AS purged_a;
SELECT count(*) AS a_left FROM store_monitoring.list_reports();
RESET ROLE;
SELECT count(*) AS b1_left FROM _store_monitoring_internal.report WHERE report_id = :'b1';
-- A superuser purges every role's.
SELECT store_monitoring.purge_reports('0') >= 1 AS superuser_purged;
SELECT count(*) AS reports_left, (SELECT count(*) FROM _store_monitoring_internal.report_output)
       AS results_left
FROM _store_monitoring_internal.report;

-----------------------------------------------------------------------------
-- store_monitoring.report_retention: superuser-only, fixed-length interval,
-- empty (default) keeps every report.
-----------------------------------------------------------------------------
SHOW store_monitoring.report_retention;
SET store_monitoring.report_retention = '30 days';
SET store_monitoring.report_retention = '1 month';
SET store_monitoring.report_retention = '0';
SET store_monitoring.report_retention = 'forever';
RESET store_monitoring.report_retention;
SET ROLE regress_sm_ret_a;
SET store_monitoring.report_retention = '30 days';
RESET ROLE;

DROP OWNED BY regress_sm_ret_a, regress_sm_ret_b;
DROP ROLE regress_sm_ret_a, regress_sm_ret_b;
