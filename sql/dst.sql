-- Daylight saving time in America/New_York.
--   Spring forward Sun 2023-03-12: 02:00 EST (UTC-5) -> 03:00 EDT (UTC-4),
--     the change is at 07:00 UTC; local 02:00-02:59 does not exist.
--   Fall back Sun 2023-11-05: 02:00 EDT (UTC-4) -> 01:00 EST (UTC-5),
--     the change is at 06:00 UTC; local 01:00-01:59 exists twice
--     (05:00-06:00 UTC as EDT, then 06:00-07:00 UTC as EST).
-- Rules: a skipped local time becomes the instant of the change; a repeated
-- local time becomes the earlier instant; windows are absolute (24 h, 168 h)
-- whatever the length of the local day. H = 2 hours.
\i sql/include/setup.psql

\i sql/include/report_rows.psql

---------------------------------------------------------------------------
-- Spring forward.
-- T = 2023-03-13 04:00 UTC = Mon Mar 13 00:00 EDT (the end of the 23-hour Sunday).
--   last hour [Mar 13 03:00, 04:00) UTC = Sun 23:00-24:00 EDT
--   last day  [Mar 12 04:00, Mar 13 04:00) UTC = Sat Mar 11 23:00 EST -> Mon 00:00 EDT
--             (24 h: one hour of Saturday plus the 23-hour Sunday)
--   last week [Mar 6 04:00, Mar 13 04:00) UTC = Sun Mar 5 23:00 EST -> Mon Mar 13 00:00 EDT
-- Every store gets an 'active' poll at :15 and :45 UTC of every hour from
-- Mar 6 01:15 to Mar 13 03:45 UTC, so uptime = open time, downtime = 0.
---------------------------------------------------------------------------
INSERT INTO store_monitoring.store_timezone
SELECT s, 'America/New_York' FROM unnest(ARRAY[
    'ny_spring_0104', 'ny_spring_0200_0230', 'ny_spring_0230_0330',
    'ny_spring_24x7', 'ny_spring_end_in_gap', 'ny_spring_overnight',
    'ny_spring_sunday_24h']) AS s;
INSERT INTO store_monitoring.business_hours VALUES
    ('ny_spring_0104',       6, '01:00', '04:00'),
    ('ny_spring_0200_0230',  6, '02:00', '02:30'),
    ('ny_spring_0230_0330',  6, '02:30', '03:30'),
    ('ny_spring_end_in_gap', 5, '22:00', '02:30'),
    ('ny_spring_overnight',  5, '22:00', '06:00'),
    ('ny_spring_sunday_24h', 6, '00:00', '00:00');
INSERT INTO store_monitoring.store_status (store_id, status, timestamp_utc)
SELECT s.store_id, 'active', t
FROM store_monitoring.store_timezone AS s,
     generate_series('2023-03-06 01:15+00'::timestamptz,
                     '2023-03-13 03:45+00'::timestamptz, '30 minutes') AS t;

-- ny_spring_0104: Sun Mar 12 01:00 EST = 06:00 UTC -> 04:00 EDT = 08:00 UTC
--   = 2 h (not 3). Sun Mar 5 01:00-04:00 EST = 06:00-09:00 UTC is before the
--   week window. up 0, 2, 2; down 0, 0, 0.
-- ny_spring_0200_0230: 02:00 and 02:30 do not exist; both become 07:00 UTC:
--   no open time at all. up 0, 0, 0; down 0, 0, 0.
-- ny_spring_0230_0330: 02:30 (skipped) -> 07:00 UTC; 03:30 EDT = 07:30 UTC:
--   30 min. up 0, 0.5, 0.5; down 0, 0, 0.
-- ny_spring_24x7: no rows, open always; the day window is 24 h although the
--   local day is 23 h long. up 60, 24, 168; down 0, 0, 0.
-- ny_spring_end_in_gap: Sat Mar 11 22:00 EST = Mar 12 03:00 UTC -> Sun 02:30
--   (skipped) = 07:00 UTC: 4 h. Day window starts at Mar 12 04:00 UTC: 3 h.
--   (Sat Mar 4 22:00 -> Sun Mar 5 02:30 EST = Mar 5 03:00-07:30 UTC, before the
--   week.) up 0, 3, 4; down 0, 0, 0.
-- ny_spring_overnight: Sat Mar 11 22:00 EST = Mar 12 03:00 UTC -> Sun 06:00
--   EDT = 10:00 UTC: 7 h (not 8). Day window from 04:00 UTC: 6 h. (The
--   Mar 4/5 shift, Mar 5 03:00-11:00 UTC, is before the week.)
--   up 0, 6, 7; down 0, 0, 0.
-- ny_spring_sunday_24h: Sun 00:00-00:00 = 24 hours of local time:
--   Sun Mar 12 00:00 EST = 05:00 UTC -> Mon Mar 13 00:00 EDT = 04:00 UTC = 23 h,
--   all inside day and week; hour [03:00, 04:00) UTC open.
--   Sun Mar 5 00:00 EST = Mar 5 05:00 UTC -> Mar 6 00:00 EST = Mar 6 05:00 UTC
--   overlaps the week window [Mar 6 04:00, ...) by 1 h.
--   up 60, 23, 24; down 0, 0, 0.
SELECT store_monitoring.trigger_report('2023-03-13 04:00+00') AS id \gset
SELECT store_monitoring.wait_report(:'id');
SELECT status, as_of, error FROM store_monitoring.get_report(:'id');
\a\t
SELECT csv FROM store_monitoring.get_report(:'id');
\a\t
SELECT * FROM pg_temp.rows(:'id');

---------------------------------------------------------------------------
-- Fall back.
-- T = 2023-11-06 05:00 UTC = Mon Nov 6 00:00 EST (the end of the 25-hour Sunday).
--   last hour [Nov 6 04:00, 05:00) UTC = Sun 23:00-24:00 EST
--   last day  [Nov 5 05:00, Nov 6 05:00) UTC = Sun 01:00 EDT (first) -> Mon 00:00 EST
--             (24 h: Sunday 00:00-01:00 EDT falls outside)
--   last week [Oct 30 05:00, Nov 6 05:00) UTC = Mon Oct 30 01:00 EDT -> Mon Nov 6 00:00 EST
-- No polls at all: every open instant is unknown, so uptime = 0 and
-- downtime = open time.
---------------------------------------------------------------------------
TRUNCATE store_monitoring.store_status, store_monitoring.business_hours,
         store_monitoring.store_timezone;
INSERT INTO store_monitoring.store_timezone
SELECT s, 'America/New_York' FROM unnest(ARRAY[
    'ny_fall_0100_0200', 'ny_fall_0104', 'ny_fall_0130_0145', 'ny_fall_24x7',
    'ny_fall_end_repeated', 'ny_fall_overnight', 'ny_fall_sunday_24h']) AS s;
INSERT INTO store_monitoring.business_hours VALUES
    ('ny_fall_0100_0200',    6, '01:00', '02:00'),
    ('ny_fall_0104',         6, '01:00', '04:00'),
    ('ny_fall_0130_0145',    6, '01:30', '01:45'),
    ('ny_fall_end_repeated', 5, '23:00', '01:30'),
    ('ny_fall_overnight',    5, '22:00', '07:00'),
    ('ny_fall_sunday_24h',   6, '00:00', '00:00');

-- ny_fall_0100_0200: 01:00 -> earlier instant 01:00 EDT = 05:00 UTC;
--   02:00 EST = 07:00 UTC: 2 h (the repeated hour is open both times).
--   up 0, 0, 0; down 0, 2, 2.
-- ny_fall_0104: 01:00 EDT = 05:00 UTC -> 04:00 EST = 09:00 UTC: 4 h (not 3).
--   (Sun Oct 29 01:00-04:00 EDT = 05:00-08:00 UTC, before the week.)
--   up 0, 0, 0; down 0, 4, 4.
-- ny_fall_0130_0145: both ends repeated, both earlier: 05:30-05:45 UTC = 15 min.
--   up 0, 0, 0; down 0, 0.25, 0.25.
-- ny_fall_24x7: up 0, 0, 0; down 60, 24, 168.
-- ny_fall_end_repeated: Sat Nov 4 23:00 EDT = Nov 5 03:00 UTC -> Sun 01:30,
--   earlier = EDT = 05:30 UTC: 2.5 h; day window from 05:00 UTC: 0.5 h.
--   (Oct 28/29: Oct 29 03:00-05:30 UTC, before the week.)
--   up 0, 0, 0; down 0, 0.5, 2.5.
-- ny_fall_overnight: Sat Nov 4 22:00 EDT = Nov 5 02:00 UTC -> Sun 07:00 EST =
--   12:00 UTC: 10 h (not 9); day window from 05:00 UTC: 7 h.
--   (Oct 28/29: Oct 29 02:00-11:00 UTC, before the week.)
--   up 0, 0, 0; down 0, 7, 10.
-- ny_fall_sunday_24h: Sun Nov 5 00:00 EDT = 04:00 UTC -> Mon Nov 6 00:00 EST
--   = 05:00 UTC = 25 h; day window [Nov 5 05:00, ...) holds 24 h of it, the
--   week all 25 h; hour [04:00, 05:00) open. (Sun Oct 29 00:00 EDT -> Oct 30
--   00:00 EDT = Oct 29 04:00 -> Oct 30 04:00 UTC, before the week.)
--   up 0, 0, 0; down 60, 24, 25.
SELECT store_monitoring.trigger_report('2023-11-06 05:00+00') AS id \gset
SELECT store_monitoring.wait_report(:'id');
SELECT status, as_of, error FROM store_monitoring.get_report(:'id');
\a\t
SELECT csv FROM store_monitoring.get_report(:'id');
\a\t
SELECT * FROM pg_temp.rows(:'id');
