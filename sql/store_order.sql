-- Stores are ordered by the bytes of store_id, whatever the database's
-- collation, and report_rows() returns them in that order itself: the
-- queries below read its rows as returned, without ORDER BY.
--
-- Byte order of the ids: 'B' (0x42) < 'Z9' (0x5A) < '_x' (0x5F) < 'a' (0x61)
-- < 'b' (0x62) < 'é' (0xC3 0xA9). A linguistic collation (en-US) would give
-- _x, a, b, B, é, Z9 or similar; test/t/016_report_collation.pl runs this file in
-- such a database.
\i sql/include/setup.psql

-- T = 2023-01-23 12:00 UTC; every store open 24x7 and active at T - 30 min
-- in UTC: up [T - 2 h 30 min, T) (H = 2 h before the poll, to T after it):
-- up 60 min, 2.50 h, 2.50 h; down 0, 21.50 h, 165.50 h.
INSERT INTO store_monitoring.store_status
SELECT id, 'active', '2023-01-23 11:30+00'
FROM unnest(ARRAY['a', 'é', '_x', 'B', 'b', 'Z9']) AS id;
INSERT INTO store_monitoring.store_timezone
SELECT id, 'UTC' FROM unnest(ARRAY['a', 'é', '_x', 'B', 'b', 'Z9']) AS id;

SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS id \gset
SELECT store_monitoring.wait_report(:'id');

-- Expected: B, Z9, _x, a, b, é (one line each, the CSV's order).
\a\t
SELECT csv FROM store_monitoring.get_report(:'id');
\a\t

-- report_rows() as returned (no ORDER BY): expected B, Z9, _x, a, b, é.
SELECT store_id, uptime_last_hour FROM store_monitoring.report_rows(:'id');

-- The same order as the CSV's lines, position by position: expected t.
SELECT array_agg(r.store_id) =
       (SELECT array_agg(split_part(line, ',', 1) ORDER BY n)
        FROM regexp_split_to_table(
                 (SELECT csv FROM store_monitoring.get_report(:'id')), E'\n')
             WITH ORDINALITY AS l(line, n)
        WHERE n > 1 AND line <> '') AS same_order_as_csv
FROM store_monitoring.report_rows(:'id') AS r;
