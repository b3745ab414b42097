-- Every store known to any of the three tables gets a row, also a store whose
-- polls all lie outside the report's evidence range [T - 168 h - H, T].
\i sql/include/setup.psql

-- T = Monday 2023-01-23 12:00 UTC, H = 2 hours: evidence from 2023-01-16 10:00.
-- No store has business hours: each is open 24x7 (zone America/Chicago by
-- default, which does not matter for a 24x7 store).
INSERT INTO store_monitoring.store_status VALUES
    -- old_only: its one poll is 13 days before T, far outside the range, so
    -- every open instant is unknown: up 0, down 60 min / 24 h / 168 h.
    ('old_only', 'active', '2023-01-10 12:00+00'),
    -- future_only: its one poll is after T and is ignored: same as old_only.
    ('future_only', 'active', '2023-01-24 12:00+00'),
    -- recent: active at T - 30 min; nearest-poll status covers
    -- [T - 2 h 30 min, T) inside the windows (H = 2 h before the poll, and up
    -- to T after it): up 60 min (hour), 2.5 h (day, week); down 0, 21.5 h,
    -- 165.5 h.
    ('recent', 'active', '2023-01-23 11:30+00');

SET store_monitoring.max_extrapolation = '2 hours';
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS id \gset
SELECT store_monitoring.wait_report(:'id');
\a\t
SELECT csv FROM store_monitoring.get_report(:'id');
\a\t
