-- Evidence and the status at an open instant (semantics.md, "Evidence",
-- "Status at an open instant", "Uptime and downtime").
--
-- All stores are in UTC. T = Mon 2023-01-23 12:00 UTC.
--   last hour [Jan 23 11:00, 12:00), last day [Jan 22 12:00, Jan 23 12:00),
--   last week [Jan 16 12:00, Jan 23 12:00). Jan 16 and Jan 23 are Mondays.
-- Open time per store in (hour, day, week):
--   Mon 08:00-12:00: Jan 23 08:00-12:00; Jan 16 08:00-12:00 ends where the
--     week starts -> 60 min, 4 h, 4 h.
--   Mon 08:00-13:00: Jan 23 08:00-12:00 (cut at T) + Jan 16 12:00-13:00
--     -> 60 min, 4 h, 5 h.
--   Mon 00:00-12:00: Jan 23 00:00-12:00 -> 60 min, 12 h, 12 h.
--   Mon 11:00-13:00: Jan 23 11:00-12:00 + Jan 16 12:00-13:00 -> 60 min, 1 h, 2 h.
--   no rows (24x7): 60 min, 24 h, 168 h.
\i sql/include/setup.psql

\i sql/include/report_rows.psql

-- polls_only has no time-zone row (America/Chicago; it is 24x7, so the zone
-- does not matter) and no business hours: it is known only by its polls.
-- zone_only has only a time-zone row.
INSERT INTO store_monitoring.store_timezone
SELECT s, 'UTC' FROM unnest(ARRAY[
    'evidence_before_week', 'gap_4h_no_unknown', 'long_gap',
    'outside_hours_ignored', 'poll_after_T', 'poll_at_T', 'same_instant',
    'zone_only']) AS s;
INSERT INTO store_monitoring.business_hours VALUES
    ('outside_hours_ignored', 0, '08:00', '12:00'),
    ('same_instant',          0, '08:00', '12:00'),
    ('poll_at_T',             0, '08:00', '13:00'),
    ('poll_after_T',          0, '08:00', '13:00'),
    ('long_gap',              0, '00:00', '12:00'),
    ('gap_4h_no_unknown',     0, '00:00', '12:00'),
    ('evidence_before_week',  0, '11:00', '13:00');
INSERT INTO store_monitoring.store_status VALUES
    -- Closed-time polls: Sunday evening, 07:30 before opening, 12:00 at
    -- closing, 12:30 after closing (and after T). Only 09:00 and 11:00 count.
    ('outside_hours_ignored', 'inactive', '2023-01-22 20:00:00+00'),
    ('outside_hours_ignored', 'inactive', '2023-01-23 07:30:00+00'),
    ('outside_hours_ignored', 'active',   '2023-01-23 09:00:00+00'),
    ('outside_hours_ignored', 'active',   '2023-01-23 11:00:00+00'),
    ('outside_hours_ignored', 'inactive', '2023-01-23 12:00:00+00'),
    ('outside_hours_ignored', 'inactive', '2023-01-23 12:30:00+00'),
    -- Same instant: active and inactive at 11:00, inactive wins. (A duplicate
    -- active pair at 09:00 is harmless.)
    ('same_instant', 'active',   '2023-01-23 09:00:00+00'),
    ('same_instant', 'active',   '2023-01-23 09:00:00+00'),
    ('same_instant', 'active',   '2023-01-23 11:00:00+00'),
    ('same_instant', 'inactive', '2023-01-23 11:00:00+00'),
    -- A poll exactly at T counts.
    ('poll_at_T', 'active',   '2023-01-23 10:00:00+00'),
    ('poll_at_T', 'inactive', '2023-01-23 12:00:00+00'),
    -- A poll one microsecond after T is ignored.
    ('poll_after_T', 'active',   '2023-01-23 10:00:00+00'),
    ('poll_after_T', 'inactive', '2023-01-23 12:00:00.000001+00'),
    -- A 10-hour gap (> 2H = 4 h).
    ('long_gap', 'active', '2023-01-23 01:00:00+00'),
    ('long_gap', 'active', '2023-01-23 11:00:00+00'),
    -- A gap of exactly 2H = 4 h leaves nothing unknown between the polls.
    ('gap_4h_no_unknown', 'inactive', '2023-01-23 02:00:00+00'),
    ('gap_4h_no_unknown', 'active',   '2023-01-23 06:00:00+00'),
    -- 24x7 store known only by this poll.
    ('polls_only', 'active', '2023-01-23 11:00:00+00'),
    -- Evidence taken before the week window (Jan 16 11:00, within
    -- [T - 168 h - H, T]) speaks for the start of the week window.
    ('evidence_before_week', 'active',   '2023-01-16 11:00:00+00'),
    ('evidence_before_week', 'inactive', '2023-01-23 11:30:00+00');

---------------------------------------------------------------------------
-- interpolation = nearest (default), H = 2 hours.
--
-- evidence_before_week: Jan 16 [12:00, 13:00) is 1-2 h after the Jan 16 11:00
--   active poll (the opening instant, so evidence): active 1 h.
--   Jan 23 [11:00, 12:00): nearest is 11:30 inactive. up 0, 0, 1; down 60, 1, 1.
-- gap_4h_no_unknown: 02:00 inactive, 06:00 active, midpoint 04:00.
--   [00:00, 04:00) inactive (00:00 is exactly 2 h from 02:00), [04:00, 08:00]
--   active, (08:00, 12:00) more than 2 h from 06:00: unknown.
--   up 0, 4, 4; down 60, 8, 8.
-- long_gap: 01:00 and 11:00 active. [00:00, 03:00] active (<= 2 h from 01:00),
--   (03:00, 09:00) unknown (6 h), [09:00, 12:00) active.
--   up 60, 6, 6; down 0, 6, 6.
-- outside_hours_ignored: evidence is only 09:00 and 11:00 (both active); all
--   of 08:00-12:00 is within 1 h of one of them. (Were 07:30 evidence,
--   08:00-08:15 would be inactive; were 12:00 evidence, 11:30-12:00 would be.)
--   up 60, 4, 4; down 0, 0, 0.
-- poll_after_T: only 10:00 active counts; 08:00-12:00 is within 2 h of it.
--   Jan 16 12:00-13:00 has no evidence: unknown 1 h.
--   up 60, 4, 4; down 0, 0, 1.
-- poll_at_T: 10:00 active, 12:00 (= T, open) inactive; midpoint 11:00.
--   [08:00, 11:00) active, [11:00, 12:00) inactive; Jan 16 12:00-13:00 unknown.
--   up 0, 3, 3; down 60, 1, 2.
-- polls_only: 24x7, one poll 11:00 active: active [09:00, 13:00), cut at T:
--   [09:00, 12:00) = 3 h. up 60, 3, 3; down 0, 21, 165.
-- same_instant: evidence 09:00 active, 11:00 inactive; midpoint 10:00.
--   [08:00, 10:00) active, [10:00, 12:00) inactive.
--   up 0, 2, 2; down 60, 2, 2.
-- zone_only: 24x7, no polls: all unknown. up 0, 0, 0; down 60, 24, 168.
---------------------------------------------------------------------------
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS id \gset
SELECT store_monitoring.wait_report(:'id');
SELECT status, as_of, error FROM store_monitoring.get_report(:'id');
\a\t
SELECT csv FROM store_monitoring.get_report(:'id');
\a\t
SELECT * FROM pg_temp.rows(:'id');

---------------------------------------------------------------------------
-- interpolation = previous, H = 2 hours: the status at t is that of the
-- latest evidence poll at or before t that is at most 2 h earlier.
--
-- evidence_before_week: Jan 16 [12:00, 13:00) active (11:00 poll, 1-2 h
--   earlier). Jan 23 [11:00, 11:30) unknown (the previous evidence is a week
--   old), [11:30, 12:00) inactive. up 0, 0, 1; down 60, 1, 1.
-- gap_4h_no_unknown: [00:00, 02:00) unknown, [02:00, 04:00] inactive,
--   (04:00, 06:00) unknown, [06:00, 08:00] active, (08:00, 12:00) unknown.
--   up 0, 2, 2; down 60, 10, 10.
-- long_gap: [00:00, 01:00) unknown, [01:00, 03:00] active, (03:00, 11:00)
--   unknown, [11:00, 12:00) active. up 60, 3, 3; down 0, 9, 9.
-- outside_hours_ignored: [08:00, 09:00) unknown (07:30 is not evidence),
--   [09:00, 12:00) active. up 60, 3, 3; down 0, 1, 1.
-- poll_after_T: [08:00, 10:00) unknown, [10:00, 12:00) active; Jan 16
--   12:00-13:00 unknown. up 60, 2, 2; down 0, 2, 3.
-- poll_at_T: the 12:00 poll only speaks for t >= 12:00 = T, outside every
--   window. [08:00, 10:00) unknown, [10:00, 12:00) active; Jan 16 unknown 1 h.
--   up 60, 2, 2; down 0, 2, 3.
-- polls_only: [11:00, 12:00) active, the rest unknown.
--   up 60, 1, 1; down 0, 23, 167.
-- same_instant: [08:00, 09:00) unknown, [09:00, 11:00) active, [11:00, 12:00)
--   inactive. up 0, 2, 2; down 60, 2, 2.
-- zone_only: up 0, 0, 0; down 60, 24, 168.
---------------------------------------------------------------------------
SET store_monitoring.interpolation = 'previous';
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS id \gset
SELECT store_monitoring.wait_report(:'id');
SELECT status, as_of, error FROM store_monitoring.get_report(:'id');
\a\t
SELECT csv FROM store_monitoring.get_report(:'id');
\a\t
SELECT * FROM pg_temp.rows(:'id');

---------------------------------------------------------------------------
-- interpolation = nearest, H = 0: a poll speaks only for its own instant,
-- which has no length, so nothing is ever known active: uptime 0 and
-- downtime = open time everywhere.
-- evidence_before_week 60, 1, 2; gap_4h_no_unknown 60, 12, 12;
-- long_gap 60, 12, 12; outside_hours_ignored 60, 4, 4; poll_after_T 60, 4, 5;
-- poll_at_T 60, 4, 5; polls_only 60, 24, 168; same_instant 60, 4, 4;
-- zone_only 60, 24, 168.
---------------------------------------------------------------------------
SET store_monitoring.interpolation = 'nearest';
SET store_monitoring.max_extrapolation = '0';
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS id \gset
SELECT store_monitoring.wait_report(:'id');
SELECT status, as_of, error FROM store_monitoring.get_report(:'id');
\a\t
SELECT csv FROM store_monitoring.get_report(:'id');
\a\t
SELECT * FROM pg_temp.rows(:'id');

---------------------------------------------------------------------------
-- interpolation = nearest, H = 7 days (168 h, the largest value the
-- extension accepts, see README): a poll now speaks for about the whole week,
-- in both directions, as long as it is the nearest evidence.
--
-- evidence_before_week: the nearest polls are the same as with H = 2 h:
--   up 0, 0, 1; down 60, 1, 1.
-- gap_4h_no_unknown: [00:00, 04:00) inactive, [04:00, 12:00) active (06:00
--   poll, up to 6 h away), so the last hour is active too.
--   up 60, 8, 8; down 0, 4, 4.
-- long_gap: [00:00, 06:00) nearest is 01:00, [06:00, 12:00) nearest is
--   11:00; all active. up 60, 12, 12; down 0, 0, 0.
-- outside_hours_ignored: unchanged: up 60, 4, 4; down 0, 0, 0.
-- poll_after_T: Jan 16 12:00-13:00 is 166-165 h before the Jan 23 10:00
--   active poll (<= 168 h): active. up 60, 4, 5; down 0, 0, 0.
-- poll_at_T: Jan 23 as with H = 2 h; on Jan 16 12:00-13:00 the nearest
--   evidence is Jan 23 10:00 active (166-165 h; 12:00 inactive is 168-167 h).
--   up 0, 3, 4; down 60, 1, 1.
-- polls_only: the week window starts 167 h before the 11:00 poll: all
--   active. up 60, 24, 168; down 0, 0, 0.
-- same_instant: unchanged: up 0, 2, 2; down 60, 2, 2.
-- zone_only: no polls: up 0, 0, 0; down 60, 24, 168.
---------------------------------------------------------------------------
SET store_monitoring.max_extrapolation = '7 days';
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS id \gset
SELECT store_monitoring.wait_report(:'id');
SELECT status, as_of, error FROM store_monitoring.get_report(:'id');
\a\t
SELECT csv FROM store_monitoring.get_report(:'id');
\a\t
SELECT * FROM pg_temp.rows(:'id');
