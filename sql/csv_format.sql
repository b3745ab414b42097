-- The CSV (semantics.md, "Output"): one row per store known to any table,
-- ordered by store_id bytes; hour in minutes, day/week in hours, exactly two
-- decimals rounded half away from zero from the exact durations.
-- Not in the spec, chosen as RFC 4180 says: a store_id holding a comma,
-- a double quote or a line break is quoted, with quotes doubled.
--
-- All stores in UTC. T = Mon 2023-01-23 12:00 UTC, H = 2 hours.
\i sql/include/setup.psql

\i sql/include/report_rows.psql

-- Byte order: '10' < '9' < 'B' < 'a,b' < 'a_b' < 'ab' < 'line<LF>break'
-- < 'round_...' < 'say "hi"' (0x31 < 0x39 < 0x42 < 0x61 < 0x6C < 0x72 < 0x73;
-- after 'a': ',' 0x2C < '_' 0x5F < 'b' 0x62).
-- These eight have only a time-zone row and no polls: 24x7, all unknown:
--   up 0, 0, 0; down 60, 24, 168.
INSERT INTO store_monitoring.store_timezone
SELECT s, 'UTC' FROM unnest(ARRAY[
    'say "hi"', 'ab', 'a_b', 'a,b', 'B', '9', '10', E'line\nbreak']) AS s;

-- Rounding. Each store is open on Mondays only, from a start time to 12:00,
-- and is active all that time (Jan 16's shift ends where the week starts):
-- uptime = open time in day and week, the hour holds min(open, 60 min).
-- round_2675_h: 09:19:30-12:00 = 2 h 40 min 30 s = 2.675 h exactly (2.68 half
--   away from zero; the double nearest 2.675 is below it, so rounding the
--   double would print 2.67). Polls 10:30 and 11:30 active; 09:19:30 is
--   70.5 min from 10:30.  up 60, 2.675, 2.675 -> 60.00,2.68,2.68
-- round_2675_min: 11:57:19.5-12:00 = 160.5 s = 2.675 min (2.68);
--   = 0.044583 h (0.04). Poll 11:58 active.  up 2.675, 0.044583, 0.044583
--   -> 2.68,0.04,0.04
-- round_half_h: 11:52:30-12:00 = 7.5 min = 0.125 h (0.13). Poll 11:55 active.
--   up 7.5, 0.125, 0.125 -> 7.50,0.13,0.13
-- round_tiny_min: 11:59:59.7-12:00 = 0.3 s = 0.005 min (0.01);
--   = 0.0000833 h (0.00). Poll 11:59:59.8 active.
--   up 0.005, 0.000083, 0.000083 -> 0.01,0.00,0.00
INSERT INTO store_monitoring.store_timezone
SELECT s, 'UTC' FROM unnest(ARRAY[
    'round_2675_h', 'round_2675_min', 'round_half_h', 'round_tiny_min']) AS s;
INSERT INTO store_monitoring.business_hours VALUES
    ('round_2675_h',   0, '09:19:30',   '12:00'),
    ('round_2675_min', 0, '11:57:19.5', '12:00'),
    ('round_half_h',   0, '11:52:30',   '12:00'),
    ('round_tiny_min', 0, '11:59:59.7', '12:00');
INSERT INTO store_monitoring.store_status VALUES
    ('round_2675_h',   'active', '2023-01-23 10:30:00+00'),
    ('round_2675_h',   'active', '2023-01-23 11:30:00+00'),
    ('round_2675_min', 'active', '2023-01-23 11:58:00+00'),
    ('round_half_h',   'active', '2023-01-23 11:55:00+00'),
    ('round_tiny_min', 'active', '2023-01-23 11:59:59.8+00');

-- Expected CSV:
-- store_id,uptime_last_hour,uptime_last_day,uptime_last_week,downtime_last_hour,downtime_last_day,downtime_last_week
-- 10,0.00,0.00,0.00,60.00,24.00,168.00
-- 9,0.00,0.00,0.00,60.00,24.00,168.00
-- B,0.00,0.00,0.00,60.00,24.00,168.00
-- "a,b",0.00,0.00,0.00,60.00,24.00,168.00
-- a_b,0.00,0.00,0.00,60.00,24.00,168.00
-- ab,0.00,0.00,0.00,60.00,24.00,168.00
-- "line
-- break",0.00,0.00,0.00,60.00,24.00,168.00
-- round_2675_h,60.00,2.68,2.68,0.00,0.00,0.00
-- round_2675_min,2.68,0.04,0.04,0.00,0.00,0.00
-- round_half_h,7.50,0.13,0.13,0.00,0.00,0.00
-- round_tiny_min,0.01,0.00,0.00,0.00,0.00,0.00
-- "say ""hi""",0.00,0.00,0.00,60.00,24.00,168.00
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS id \gset
SELECT store_monitoring.wait_report(:'id');
SELECT status, as_of, error FROM store_monitoring.get_report(:'id');
\a\t
SELECT csv FROM store_monitoring.get_report(:'id');
\a\t
SELECT * FROM pg_temp.rows(:'id');
-- The report table's store count matches.
SELECT store_count FROM _store_monitoring_internal.report WHERE report_id = :'id';
