-- When a store is open (semantics.md, "When a store is open").
--
-- One report, one store per case. T = Mon 2023-01-23 00:00 UTC, H = 2 hours.
--   last hour [Sun Jan 22 23:00, Mon Jan 23 00:00)
--   last day  [Sun Jan 22 00:00, Mon Jan 23 00:00)   = all of Sunday Jan 22
--   last week [Mon Jan 16 00:00, Mon Jan 23 00:00)   = Mon Jan 16 .. Sun Jan 22
-- (2023-01-16 is a Monday, ..., 2023-01-22 a Sunday.)
-- Evidence range [T - 170 h, T] = [Sun Jan 15 22:00, Mon Jan 23 00:00].
--
-- Unless a case says otherwise, a store gets an 'active' poll at :15 and :45
-- of every hour from Sun Jan 15 20:15 to Sun Jan 22 23:45 UTC. Every open
-- interval at least 30 min long then holds polls, and each of its instants is
-- within 30 min of one, so the store is active whenever it is open:
-- uptime = open time and downtime = 0. Polls taken while a store is closed are
-- not evidence, so they change nothing.
\i sql/include/setup.psql

\i sql/include/report_rows.psql

-- Every store is in UTC except no_zone_chicago (no row) and the zone_* ones.
INSERT INTO store_monitoring.store_timezone
SELECT s, 'UTC' FROM unnest(ARRAY[
    'adjacent_shifts', 'close_instant_poll', 'end_0000', 'end_2358',
    'end_2359', 'end_235959', 'end_2400', 'no_hours_24x7',
    'open_instant_poll', 'overlapping', 'overnight', 'some_weekdays',
    'split_shift', 'start_end_2359', 'start_eq_end']) AS s;
INSERT INTO store_monitoring.store_timezone VALUES
    ('zone_tokyo',      'Asia/Tokyo'),          -- UTC+9, no DST
    ('zone_kiritimati', 'Pacific/Kiritimati'),  -- UTC+14, no DST
    ('zone_pago_pago',  'Pacific/Pago_Pago'),   -- UTC-11, no DST
    ('zone_kathmandu',  'Asia/Kathmandu');      -- UTC+5:45, no DST

-- Weekdays: 0 Mon, 1 Tue, 2 Wed, 3 Thu, 4 Fri, 5 Sat, 6 Sun.
INSERT INTO store_monitoring.business_hours VALUES
    -- Overnight shifts (end <= start: closes the next day).
    ('overnight', 4, '20:00', '02:00'),
    ('overnight', 6, '22:00', '06:00'),
    -- start == end: open 24 hours.
    ('start_eq_end', 2, '08:00', '08:00'),
    ('start_eq_end', 6, '00:00', '00:00'),
    -- Ends meaning "until close of day" and their neighbours.
    ('end_0000',   6, '18:00', '00:00'),
    ('end_2358',   6, '18:00', '23:58:00'),
    ('end_2359',   6, '18:00', '23:59:00'),
    ('end_235959', 6, '18:00', '23:59:59'),
    ('end_2400',   6, '18:00', '24:00:00'),
    -- start == end == 23:59:00: rule 1 applies first, so it closes at midnight.
    ('start_end_2359', 6, '23:59:00', '23:59:00'),
    -- Split shifts.
    ('split_shift', 1, '09:00', '12:00'),
    ('split_shift', 1, '17:00', '21:00'),
    ('split_shift', 6, '10:00', '11:00'),
    ('split_shift', 6, '20:00', '22:00'),
    -- Overlapping rows (open time is never counted twice).
    ('overlapping', 3, '09:00', '17:00'),
    ('overlapping', 3, '12:00', '20:00'),
    ('overlapping', 5, '20:00', '02:00'),
    ('overlapping', 6, '00:00', '03:00'),
    ('overlapping', 6, '08:00', '12:00'),
    ('overlapping', 6, '10:00', '14:00'),
    ('overlapping', 6, '09:00', '10:00'),
    ('overlapping', 6, '22:00', '23:30'),
    ('overlapping', 6, '22:00', '23:30'),
    -- Only some weekdays: closed on all others.
    ('some_weekdays', 0, '09:00', '17:00'),
    ('some_weekdays', 4, '09:00', '17:00'),
    -- No time-zone row: America/Chicago (CST = UTC-6 in January).
    ('no_zone_chicago', 6, '12:00', '20:00'),
    -- Zones far from UTC, and one with a 45-minute offset.
    ('zone_tokyo', 0, '08:00', '10:00'),
    ('zone_kiritimati', 0, '00:00', '02:00'),
    ('zone_pago_pago', 5, '20:00', '23:59'),
    ('zone_pago_pago', 6, '20:00', '23:59'),
    ('zone_kathmandu', 0, '05:45', '07:45'),
    ('zone_kathmandu', 6, '22:00', '23:00'),
    -- Adjacent shifts: 20:00 closes one and opens the other, so it is open.
    ('adjacent_shifts', 6, '18:00', '20:00'),
    ('adjacent_shifts', 6, '20:00', '22:00'),
    -- A poll at exactly the closing / opening instant.
    ('close_instant_poll', 6, '20:00', '21:00'),
    ('open_instant_poll',  6, '20:00', '21:00');
    -- no_hours_24x7 has no rows at all: open 24x7.

INSERT INTO store_monitoring.store_status (store_id, status, timestamp_utc)
SELECT s, 'active', t
FROM unnest(ARRAY[
         'end_0000', 'end_2358', 'end_2359', 'end_235959', 'end_2400',
         'no_hours_24x7', 'no_zone_chicago', 'overlapping', 'overnight',
         'some_weekdays', 'split_shift', 'start_end_2359', 'start_eq_end',
         'zone_kathmandu', 'zone_kiritimati', 'zone_pago_pago',
         'zone_tokyo']) AS s,
     generate_series('2023-01-15 20:15+00'::timestamptz,
                     '2023-01-22 23:45+00'::timestamptz, '30 minutes') AS t;
-- The only poll of close_instant_poll is at its closing instant: not evidence.
-- The only poll of open_instant_poll is at its opening instant: evidence.
-- The only poll of adjacent_shifts is at 20:00, where one row closes and the
-- next opens: evidence.
INSERT INTO store_monitoring.store_status VALUES
    ('adjacent_shifts',    'active', '2023-01-22 20:00:00+00'),
    ('close_instant_poll', 'active', '2023-01-22 21:00:00+00'),
    ('open_instant_poll',  'active', '2023-01-22 20:00:00+00');

-- Expected, per store (hour in minutes, day/week in hours):
--
-- adjacent_shifts: Sun 18:00-20:00 u 20:00-22:00 = Jan 22 18:00-22:00 (4 h).
--   The 20:00 poll lies in [20:00, 22:00): evidence, and every open instant
--   is within 2 h of it -> active. hour: closed.
--   up 0, 4, 4; down 0, 0, 0. (Were it ignored: up 0, down 4.)
-- close_instant_poll: open Sun Jan 22 20:00-21:00 (1 h). Its only poll, 21:00,
--   is at the closing instant, when the store is closed: no evidence, all
--   unknown. hour: closed -> 0 / 0. up 0, 0, 0; down 0, 1, 1.
-- end_0000: Sun 18:00-00:00 is rule 3 (end <= start): Jan 22 18:00 ->
--   Jan 23 00:00 = 6 h; hour [23:00, 24:00) open. up 60, 6, 6; down 0, 0, 0.
--   (Sun Jan 15 18:00-24:00 lies before the week window.)
-- end_2358: Sun 18:00-23:58 = 5 h 58 min = 5.966667 h (5.97);
--   hour [23:00, 23:58) = 58 min. up 58, 5.966667, 5.966667; down 0, 0, 0.
-- end_2359: 23:59:00 means midnight (rule 1): 18:00-24:00 = 6 h; hour 60 min
--   (not 59). up 60, 6, 6; down 0, 0, 0.
-- end_235959: same as end_2359. up 60, 6, 6; down 0, 0, 0.
-- end_2400: 24:00:00 >= 23:59:00, rule 1. up 60, 6, 6; down 0, 0, 0.
-- no_hours_24x7: open every instant. up 60, 24, 168; down 0, 0, 0.
-- no_zone_chicago: Sun 12:00-20:00 CST = 18:00-02:00 UTC (next day).
--   Sun Jan 15: Jan 15 18:00 -> Jan 16 02:00 UTC, in week [Jan 16 00:00, 02:00) = 2 h.
--   Sun Jan 22: Jan 22 18:00 -> Jan 23 02:00 UTC, in windows [18:00, 24:00) = 6 h.
--   hour [23:00, 24:00) open. up 60, 6, 8; down 0, 0, 0.
--   (Were it UTC: hour 0, day 8, week 8.)
-- open_instant_poll: open Sun Jan 22 20:00-21:00; the 20:00 poll is at the
--   opening instant, inside [20:00, 21:00): evidence; every open instant is
--   within 1 h of it -> active. up 0, 1, 1; down 0, 0, 0.
-- overlapping: union of the rows, each instant once:
--   Thu Jan 19 09:00-17:00 u 12:00-20:00 = 09:00-20:00 = 11 h (not 16);
--   Sat Jan 21 20:00 -> Sun 02:00 u Sun 00:00-03:00 = Sat 20:00 -> Sun 03:00 = 7 h;
--   Sun 08:00-12:00 u 10:00-14:00 u 09:00-10:00 = 08:00-14:00 = 6 h;
--   Sun 22:00-23:30 twice = 1.5 h.
--   week = 11 + 7 + 6 + 1.5 = 25.5 h;
--   day (Sun Jan 22) = 00:00-03:00 (3 h) + 6 h + 1.5 h = 10.5 h;
--   hour [23:00, 24:00): open 23:00-23:30 = 30 min.
--   up 30, 10.5, 25.5; down 0, 0, 0.
-- overnight: Fri Jan 20 20:00 -> Sat 02:00 = 6 h;
--   Sun Jan 15 22:00 -> Mon Jan 16 06:00, in week [Jan 16 00:00, 06:00) = 6 h
--   (Monday morning is open by Sunday's row though Monday has no row);
--   Sun Jan 22 22:00 -> Mon Jan 23 06:00, cut at T: [22:00, 24:00) = 2 h.
--   week = 6 + 6 + 2 = 14 h; day = 2 h; hour 60 min.
--   up 60, 2, 14; down 0, 0, 0.
-- some_weekdays: Mon Jan 16 09:00-17:00 + Fri Jan 20 09:00-17:00 = 16 h; closed
--   on Sunday (its active polls then are not evidence). up 0, 0, 16; down 0, 0, 0.
-- split_shift: Tue Jan 17 3 h + 4 h = 7 h; Sun Jan 22 1 h + 2 h = 3 h;
--   hour: closed. up 0, 3, 10; down 0, 0, 0.
-- start_end_2359: Sun 23:59:00-23:59:00; rule 1 (end >= 23:59:00) comes first:
--   Jan 22 23:59 -> Jan 23 00:00 = 1 min = 0.016667 h. No poll falls inside
--   any of its open minutes (polls at :15/:45 are taken while it is closed),
--   so it is unknown: up 0, 0, 0; down 1, 0.016667, 0.016667 (CSV 1.00, 0.02, 0.02).
--   (Sun Jan 15 23:59-24:00 lies before the week window.)
-- start_eq_end: start == end is 24 hours (rule 3).
--   Wed Jan 18 08:00 -> Thu Jan 19 08:00 = 24 h;
--   Sun Jan 22 00:00 -> Mon Jan 23 00:00 = 24 h (Sun Jan 15's ends at week start).
--   up 60, 24, 48; down 0, 0, 0.
-- zone_kathmandu (UTC+5:45): Mon 05:45-07:45 = Mon 00:00-02:00 UTC.
--   Mon Jan 16: [Jan 16 00:00, 02:00) UTC, starting exactly at the week's start: 2 h.
--   Mon Jan 23: starts at 00:00 UTC = T: nothing in any window.
--   Sun 22:00-23:00 = Sun 16:15-17:15 UTC: Jan 22 -> day and week 1 h
--   (Jan 15's is before the week). The 16:15 poll is at the opening instant.
--   up 0, 1, 3; down 0, 0, 0.
-- zone_kiritimati (UTC+14): Mon 00:00-02:00 = Sun 10:00-12:00 UTC.
--   Local Monday Jan 23 (a date after T's UTC date) = Jan 22 10:00-12:00 UTC:
--   day and week 2 h. Local Mon Jan 16 = Jan 15 10:00-12:00 UTC: before the week.
--   up 0, 2, 2; down 0, 0, 0.
-- zone_pago_pago (UTC-11): 23:59 means midnight (rule 1), so
--   Sat 20:00-24:00 = Sun 07:00-11:00 UTC and Sun 20:00-24:00 = Mon 07:00-11:00 UTC.
--   Sat Jan 21 -> Jan 22 07:00-11:00 UTC: day and week 4 h.
--   Sun Jan 15 -> Jan 16 07:00-11:00 UTC: week 4 h.
--   Sun Jan 22 -> Jan 23 07:00 UTC, after T; Sat Jan 14 -> Jan 15, before.
--   up 0, 4, 8; down 0, 0, 0.
-- zone_tokyo: Mon 08:00-10:00 JST = Sun 23:00 -> Mon 01:00 UTC.
--   Mon Jan 16 JST: Jan 15 23:00 -> Jan 16 01:00 UTC, in week [00:00, 01:00) = 1 h.
--   Mon Jan 23 JST: Jan 22 23:00 -> Jan 23 01:00 UTC, cut at T: [23:00, 24:00) = 1 h.
--   up 60, 1, 2; down 0, 0, 0.
SELECT store_monitoring.trigger_report('2023-01-23 00:00+00') AS id \gset
SELECT store_monitoring.wait_report(:'id');
SELECT status, as_of, error FROM store_monitoring.get_report(:'id');
\a\t
SELECT csv FROM store_monitoring.get_report(:'id');
\a\t
SELECT * FROM pg_temp.rows(:'id');

-- A shift cannot start at 24:00. With an end at or after 23:59:00, rule 1
-- (midnight) comes before start = end (24 hours), so such a row would be an
-- empty shift; the table and its import view refuse it, naming the row.
INSERT INTO store_monitoring.business_hours VALUES ('start_2400', 0, '24:00', '24:00');
COPY store_monitoring.business_hours_import FROM stdin WITH (FORMAT csv);
start_2400,0,24:00,24:00
\.
SELECT count(*) AS start_2400_rows FROM store_monitoring.business_hours
WHERE store_id = 'start_2400';
