-- The worked example of the spec (semantics.md, "Worked example"), with
-- H = 2 hours (the default) and H = 1 hour.
--
-- A store in UTC, open only on Mondays 09:00-12:00; polls on Monday 2023-01-23
-- at 10:14 active and 11:15 inactive; T = 2023-01-23 12:00 UTC.
\i sql/include/setup.psql

-- Unrounded report values, rounded to 6 decimals so float noise never shows.
\i sql/include/report_rows.psql

INSERT INTO store_monitoring.store_timezone VALUES ('worked_example', 'UTC');
INSERT INTO store_monitoring.business_hours VALUES ('worked_example', 0, '09:00', '12:00');
INSERT INTO store_monitoring.store_status VALUES
    ('worked_example', 'active',   '2023-01-23 10:14:00+00'),
    ('worked_example', 'inactive', '2023-01-23 11:15:00+00');

-- H = 2 hours.
-- Open time: day window [Jan 22 12:00, Jan 23 12:00) and week window
-- [Jan 16 12:00, Jan 23 12:00) both hold only Mon Jan 23 09:00-12:00 = 3 h
-- (Mon Jan 16 09:00-12:00 ends exactly where the week window starts).
-- Switch at the midpoint of 10:14 and 11:15 = 10:44:30.
-- 09:00 is 74 min from the 10:14 poll (<= 2 h), 12:00 is 45 min from 11:15.
-- last hour [11:00, 12:00): all inactive -> up 0 min, down 60 min.
-- day/week: up 09:00-10:44:30 = 1 h 44 min 30 s = 6270 s = 1.741667 h (1.74),
--           down 10:44:30-12:00 = 1 h 15 min 30 s = 4530 s = 1.258333 h (1.26).
SET store_monitoring.max_extrapolation = '2 hours';
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS id \gset
SELECT store_monitoring.wait_report(:'id');
SELECT status, as_of, error FROM store_monitoring.get_report(:'id');
\a\t
SELECT csv FROM store_monitoring.get_report(:'id');
\a\t
SELECT * FROM pg_temp.rows(:'id');

-- H = 1 hour.
-- 09:00-09:14 is more than 1 h from the nearest poll (10:14): unknown, 14 min.
-- (At 09:14 exactly the distance is 1 h, which is "at most H"; a single
-- instant has no length anyway.)
-- last hour: [11:00, 12:00) within 45 min of 11:15 -> inactive: up 0, down 60 min.
-- day/week: up 09:14-10:44:30 = 1 h 30 min 30 s = 5430 s = 1.508333 h (1.51),
--           down = inactive 10:44:30-12:00 (4530 s) + unknown 09:00-09:14 (840 s)
--                = 5370 s = 1.491667 h (1.49).
SET store_monitoring.max_extrapolation = '1 hour';
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS id \gset
SELECT store_monitoring.wait_report(:'id');
SELECT status, as_of, error FROM store_monitoring.get_report(:'id');
\a\t
SELECT csv FROM store_monitoring.get_report(:'id');
\a\t
SELECT * FROM pg_temp.rows(:'id');
