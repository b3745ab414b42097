-- A report's life: Running -> Complete, what can be asked of it when, and
-- what a rolled-back trigger leaves behind.
\i sql/include/setup.psql

\i sql/include/report_rows.psql

\i sql/include/try.psql

-- One 24x7 store in UTC with one active poll at Mon 2023-01-23 11:00.
-- T = 12:00: active [09:00, 13:00) cut at T = [09:00, 12:00) = 3 h.
--   hour [11:00, 12:00): up 60. day: up 3, down 21. week: up 3, down 165.
--   -> life,60.00,3.00,3.00,0.00,21.00,165.00
INSERT INTO store_monitoring.store_timezone VALUES ('life', 'UTC');
INSERT INTO store_monitoring.store_status VALUES ('life', 'active', '2023-01-23 11:00+00');

-- Inside the triggering transaction the report is Running (its worker starts
-- at commit), report_rows refuses it, and wait_report refuses to wait for
-- what cannot start before the commit.
BEGIN;
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS id \gset
SELECT status, csv IS NULL AS no_csv_yet, error FROM store_monitoring.get_report(:'id');
SELECT pg_temp.try('SELECT * FROM store_monitoring.report_rows($1)', :'id');
SELECT pg_temp.try('SELECT store_monitoring.wait_report($1)', :'id');
SELECT pg_temp.try('SELECT store_monitoring.wait_report($1, ''1 second'')', :'id');
COMMIT;

-- After the commit: Running -> Complete.
SELECT store_monitoring.wait_report(:'id');
SELECT status, as_of, error, csv IS NOT NULL AS has_csv
FROM store_monitoring.get_report(:'id');
-- The report is stored once: its results in report_output, no CSV copy.
SELECT status, phase, store_count, error, csv IS NULL AS no_csv_copy,
       finished_at IS NOT NULL AS finished,
       (SELECT count(*) FROM _store_monitoring_internal.report_output o
        WHERE o.report_id = r.report_id) AS stored_results
FROM _store_monitoring_internal.report r WHERE report_id = :'id';
-- Waiting again on a complete report returns at once.
SELECT store_monitoring.wait_report(:'id', '0');
-- The header line is exact.
SELECT split_part(csv, E'\n', 1) AS header,
       split_part(csv, E'\n', 1) = 'store_id,uptime_last_hour,uptime_last_day,uptime_last_week,downtime_last_hour,downtime_last_day,downtime_last_week' AS header_ok
FROM store_monitoring.get_report(:'id');
\a\t
SELECT csv FROM store_monitoring.get_report(:'id');
\a\t
SELECT * FROM pg_temp.rows(:'id');
SELECT count(*) AS rows_in_1_0_table FROM _store_monitoring_internal.report_result
WHERE report_id = :'id';

-- A trigger that is rolled back leaves no report behind.
BEGIN;
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS id2 \gset
SELECT count(*) FROM _store_monitoring_internal.report WHERE report_id = :'id2';
ROLLBACK;
SELECT count(*) FROM _store_monitoring_internal.report WHERE report_id = :'id2';
SELECT count(*) FROM _store_monitoring_internal.report_output WHERE report_id = :'id2';
SELECT pg_temp.try('SELECT * FROM store_monitoring.get_report($1)', :'id2');
SELECT pg_temp.try('SELECT store_monitoring.wait_report($1)', :'id2');
SELECT pg_temp.try('SELECT * FROM store_monitoring.report_rows($1)', :'id2');

-- A trigger whose transaction later fails (after the trigger) leaves nothing either.
BEGIN;
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS id3 \gset
SELECT 1 / 0;
COMMIT;
SELECT count(*) FROM _store_monitoring_internal.report WHERE report_id = :'id3';

-- Two reports triggered in one transaction both complete after the commit.
BEGIN;
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS id4 \gset
SELECT store_monitoring.trigger_report('2023-01-23 11:30+00') AS id5 \gset
COMMIT;
SELECT store_monitoring.wait_report(:'id4'), store_monitoring.wait_report(:'id5');
-- id4: same as above -> life,60.00,3.00,3.00,0.00,21.00,165.00
-- id5: T = 11:30; active [09:00, 11:30) = 2.5 h; hour [10:30, 11:30) up 60;
--   day up 2.5, down 21.5; week up 2.5, down 165.5.
--   -> life,60.00,2.50,2.50,0.00,21.50,165.50
SELECT * FROM pg_temp.rows(:'id4');
SELECT * FROM pg_temp.rows(:'id5');
