-- fleet_summary(): the fleet per window, hand-checked.
\i sql/include/setup.psql

-- UTC, T = Mon 2023-01-23 12:00, H = 1 hour. Windows: hour [11:00, 12:00),
-- day [Sun 12:00, Mon 12:00), week [Mon Jan 16 12:00, Mon Jan 23 12:00).
-- 'up':     24x7, active polls every 30 min from T - 170 h to T: up always.
-- 'down':   24x7, inactive polls every 30 min from T - 24 h to T; they
--           decide [T - 25 h, T]: down with evidence in hour and day; in the
--           week 25 h down and 143 h unknown.
-- 'silent': Mondays 09:00-12:00, no polls: hour 1 h, day and week 3 h
--           (Jan 16's shift ends where the week starts), all unknown.
-- 'sunday': Sundays 10:00-11:00, one active poll Sun Jan 22 10:30: closed
--           in hour and day (Jan 22 11:00 < 12:00); week: up 1 h.
INSERT INTO store_monitoring.store_timezone VALUES
    ('up', 'UTC'), ('down', 'UTC'), ('silent', 'UTC'), ('sunday', 'UTC');
INSERT INTO store_monitoring.business_hours VALUES
    ('silent', 0, '09:00', '12:00'), ('sunday', 6, '10:00', '11:00');
INSERT INTO store_monitoring.store_status
SELECT 'up', 'active', t
FROM generate_series(timestamptz '2023-01-23 12:00+00' - interval '170 hours',
                     '2023-01-23 12:00+00', interval '30 minutes') t;
INSERT INTO store_monitoring.store_status
SELECT 'down', 'inactive', t
FROM generate_series(timestamptz '2023-01-22 12:00+00', '2023-01-23 12:00+00',
                     interval '30 minutes') t;
INSERT INTO store_monitoring.store_status VALUES ('sunday', 'active', '2023-01-22 10:30+00');
SET store_monitoring.max_extrapolation = '1 hour';
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS id \gset
SELECT store_monitoring.wait_report(:'id');

-- last_hour: 4 stores, 3 open (up, down, silent), open 3 h: up 1, down 2
--   (silent's 1 h unknown), share 1/3; up whole: up; down whole: down,
--   silent; no evidence: silent.
-- last_day: open up 24 + down 24 + silent 3 = 51 h; up 24, down 27,
--   unknown 3, share 24/51 = 0.470588; whole: 1 up, 2 down; silent no evidence.
-- last_week: 4 open; open 168 + 168 + 3 + 1 = 340 h; up 168 + 1 = 169, down
--   168 + 3 = 171, unknown 143 + 3 = 146, share 169/340 = 0.497059; up whole:
--   up, sunday; down whole: down, silent; no evidence: silent ('down' has
--   25 h of evidence).
SELECT window_name, stores, stores_open, round(open_hours::numeric, 6) AS open_h,
       round(uptime_hours::numeric, 6) AS up_h, round(downtime_hours::numeric, 6) AS down_h,
       round(unknown_hours::numeric, 6) AS unknown_h, round(uptime_share::numeric, 6) AS share,
       stores_up_whole_window AS up_whole, stores_down_whole_window AS down_whole,
       stores_no_evidence AS no_evidence
FROM store_monitoring.fleet_summary(:'id');

-- A report with no stores: three rows of zeros, no share.
TRUNCATE store_monitoring.store_status, store_monitoring.business_hours,
         store_monitoring.store_timezone;
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS empty \gset
SELECT store_monitoring.wait_report(:'empty');
SELECT * FROM store_monitoring.fleet_summary(:'empty');
