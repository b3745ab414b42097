-- The report's instant T (semantics.md, "The report's instant T") and the
-- settings a report records.
--
-- Two stores in UTC:
--   rt_a: no business hours (24x7); polls Mon 2023-01-23 10:00 active,
--         11:00 inactive.
--   rt_b: open Mondays 09:00-10:00; polls Jan 23 09:30 active and 11:30
--         inactive (taken while closed: not evidence, but it is the newest
--         poll of all, so it is T for report_time = 'latest').
\i sql/include/setup.psql

\i sql/include/report_rows.psql

INSERT INTO store_monitoring.store_timezone VALUES ('rt_a', 'UTC'), ('rt_b', 'UTC');
INSERT INTO store_monitoring.business_hours VALUES ('rt_b', 0, '09:00', '10:00');
INSERT INTO store_monitoring.store_status VALUES
    ('rt_a', 'active',   '2023-01-23 10:00:00+00'),
    ('rt_a', 'inactive', '2023-01-23 11:00:00+00'),
    ('rt_b', 'active',   '2023-01-23 09:30:00+00'),
    ('rt_b', 'inactive', '2023-01-23 11:30:00+00');

-- Defaults.
SHOW store_monitoring.report_time;
SHOW store_monitoring.max_extrapolation;
SHOW store_monitoring.interpolation;

---------------------------------------------------------------------------
-- 1. Explicit as_of: T = 2023-01-23 10:00 UTC. Polls after 10:00 are ignored.
-- rt_a: evidence 10:00 active (exactly at T, counts). Active [08:00, 10:00).
--   hour [09:00, 10:00) up 60. day [Jan 22 10:00, Jan 23 10:00): up 2, down 22.
--   week: up 2, down 166.  -> rt_a,60.00,2.00,2.00,0.00,22.00,166.00
-- rt_b: open Jan 23 09:00-10:00 (Jan 16 09:00-10:00 is before the week
--   [Jan 16 10:00, ...)); 09:30 active covers it all.
--   -> rt_b,60.00,1.00,1.00,0.00,0.00,0.00
---------------------------------------------------------------------------
SELECT store_monitoring.trigger_report('2023-01-23 10:00+00') AS id \gset
SELECT store_monitoring.wait_report(:'id');
SELECT status, as_of, error FROM store_monitoring.get_report(:'id');
\a\t
SELECT csv FROM store_monitoring.get_report(:'id');
\a\t
SELECT * FROM pg_temp.rows(:'id');

---------------------------------------------------------------------------
-- 2. report_time = 'latest' (default): T = the newest timestamp_utc among all
-- polls = 2023-01-23 11:30 (rt_b's closed-time poll still sets T).
-- rt_a: evidence 10:00 active, 11:00 inactive, midpoint 10:30. Active
--   [08:00, 10:30) = 2.5 h, inactive [10:30, 11:30) = 1 h, rest unknown.
--   hour [10:30, 11:30): down 60. day: up 2.5, down 24 - 2.5 = 21.5.
--   week: up 2.5, down 168 - 2.5 = 165.5.
--   -> rt_a,0.00,2.50,2.50,60.00,21.50,165.50
-- rt_b: hour [10:30, 11:30) closed; Jan 23 09:00-10:00 active (09:30);
--   Jan 16 09:00-10:00 is before the week [Jan 16 11:30, ...).
--   -> rt_b,0.00,1.00,1.00,0.00,0.00,0.00
---------------------------------------------------------------------------
SELECT store_monitoring.trigger_report() AS id \gset
SELECT store_monitoring.wait_report(:'id');
SELECT status, as_of, error FROM store_monitoring.get_report(:'id');
SELECT report_time, max_extrapolation, interpolation
FROM _store_monitoring_internal.report WHERE report_id = :'id';
\a\t
SELECT csv FROM store_monitoring.get_report(:'id');
\a\t
SELECT * FROM pg_temp.rows(:'id');

---------------------------------------------------------------------------
-- 3. report_time = a timestamptz literal: T = 2023-01-23 10:00 UTC, the same
-- numbers as case 1.
---------------------------------------------------------------------------
SET store_monitoring.report_time = '2023-01-23 10:00+00';
SELECT store_monitoring.trigger_report() AS id \gset
SELECT store_monitoring.wait_report(:'id');
SELECT status, as_of, error FROM store_monitoring.get_report(:'id');
SELECT report_time::timestamptz = '2023-01-23 10:00+00' AS report_time_recorded,
       max_extrapolation, interpolation
FROM _store_monitoring_internal.report WHERE report_id = :'id';
\a\t
SELECT csv FROM store_monitoring.get_report(:'id');
\a\t

---------------------------------------------------------------------------
-- 4. An explicit as_of wins over the setting (here 'now'):
-- T = 2023-01-23 11:00 UTC.
-- rt_a: evidence 10:00 active, 11:00 inactive (at T), midpoint 10:30.
--   hour [10:00, 11:00): up 30, down 30. Active [08:00, 10:30) = 2.5 h,
--   inactive [10:30, 11:00) = 0.5 h: day up 2.5, down 21.5; week up 2.5,
--   down 165.5.  -> rt_a,30.00,2.50,2.50,30.00,21.50,165.50
-- rt_b: hour [10:00, 11:00) closed; day 09:00-10:00 active; week: Jan 16
--   09:00-10:00 is before [Jan 16 11:00, ...).
--   -> rt_b,0.00,1.00,1.00,0.00,0.00,0.00
---------------------------------------------------------------------------
SET store_monitoring.report_time = 'now';
SELECT store_monitoring.trigger_report('2023-01-23 11:00+00') AS id \gset
SELECT store_monitoring.wait_report(:'id');
SELECT status, as_of, error FROM store_monitoring.get_report(:'id');
\a\t
SELECT csv FROM store_monitoring.get_report(:'id');
\a\t

---------------------------------------------------------------------------
-- 5. report_time = 'now': T is the transaction time of the trigger.
-- The polls are from January 2023, far more than a week + 2 h before now,
-- so rt_a (24x7) is unknown throughout: up 0, 0, 0; down 60, 24, 168.
-- (rt_b depends on the weekday of now; not shown.)
---------------------------------------------------------------------------
BEGIN;
SELECT now() AS t0 \gset
SELECT store_monitoring.trigger_report() AS id \gset
COMMIT;
SELECT store_monitoring.wait_report(:'id');
SELECT status, as_of = :'t0'::timestamptz AS as_of_is_trigger_time, error
FROM store_monitoring.get_report(:'id');
SELECT report_time FROM _store_monitoring_internal.report WHERE report_id = :'id';
SELECT * FROM pg_temp.rows(:'id') WHERE store_id = 'rt_a';

---------------------------------------------------------------------------
-- 6. 'latest' with no polls at all falls back to 'now'.
-- rt_a: no evidence: up 0, 0, 0; down 60, 24, 168.
---------------------------------------------------------------------------
RESET store_monitoring.report_time;
CREATE TEMP TABLE saved_polls AS SELECT * FROM store_monitoring.store_status;
TRUNCATE store_monitoring.store_status;
BEGIN;
SELECT now() AS t0 \gset
SELECT store_monitoring.trigger_report() AS id \gset
COMMIT;
SELECT store_monitoring.wait_report(:'id');
SELECT status, as_of = :'t0'::timestamptz AS as_of_is_trigger_time, error
FROM store_monitoring.get_report(:'id');
SELECT report_time FROM _store_monitoring_internal.report WHERE report_id = :'id';
SELECT * FROM pg_temp.rows(:'id') WHERE store_id = 'rt_a';
INSERT INTO store_monitoring.store_status SELECT * FROM saved_polls;

---------------------------------------------------------------------------
-- 7. The report uses and records the settings in force when it was
-- triggered, even though the session changes them before the worker starts
-- (the worker starts only when the trigger commits).
-- T = 2023-01-23 10:00, H = 1 hour, previous.
-- rt_a: its only evidence at or before T is 10:00 = T; before it nothing is
--   known (previous mode). up 0, 0, 0; down 60, 24, 168.
--   -> rt_a,0.00,0.00,0.00,60.00,24.00,168.00
-- rt_b: open 09:00-10:00; [09:00, 09:30) unknown, [09:30, 10:00) active
--   (09:30 poll, <= 1 h earlier). hour up 30 down 30; day/week up 0.5 down 0.5.
--   -> rt_b,30.00,0.50,0.50,30.00,0.50,0.50
---------------------------------------------------------------------------
BEGIN;
SET store_monitoring.report_time = '2023-01-23 10:00+00';
SET store_monitoring.max_extrapolation = '1 hour';
SET store_monitoring.interpolation = 'previous';
SELECT store_monitoring.trigger_report() AS id \gset
SET store_monitoring.report_time = 'latest';
SET store_monitoring.max_extrapolation = '3 hours';
SET store_monitoring.interpolation = 'nearest';
COMMIT;
SHOW store_monitoring.max_extrapolation;
SELECT store_monitoring.wait_report(:'id');
SELECT status, as_of, error FROM store_monitoring.get_report(:'id');
SELECT report_time::timestamptz = '2023-01-23 10:00+00' AS report_time_recorded,
       max_extrapolation, interpolation
FROM _store_monitoring_internal.report WHERE report_id = :'id';
\a\t
SELECT csv FROM store_monitoring.get_report(:'id');
\a\t
SELECT * FROM pg_temp.rows(:'id');
