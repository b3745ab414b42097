-- report_csv(): the report's CSV as rows of text, exactly as in the CSV.
\i sql/include/setup.psql

-- Two stores open 24x7 in UTC, T = 2023-01-23 12:00, H = 2 h:
-- 'a,b': one active poll at 11:30 decides [09:30, 12:00] of the week:
--   up 60 min last hour, 2.5 h day and week; down 0 / 21.5 / 165.5 h.
-- 'say "hi"': one inactive poll at 11:00: down [09:00, 12:00) = 3 h, the
--   rest unknown: up 0 everywhere; down 60 min, 24 h, 168 h.
-- Unrounded and rounded agree here, so the CSV text is easy to check.
INSERT INTO store_monitoring.store_status VALUES
    ('a,b', 'active', '2023-01-23 11:30+00'),
    ('say "hi"', 'inactive', '2023-01-23 11:00+00');
INSERT INTO store_monitoring.store_timezone VALUES ('a,b', 'UTC'), ('say "hi"', 'UTC');
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS id \gset
SELECT store_monitoring.wait_report(:'id');
\a\t
SELECT csv FROM store_monitoring.get_report(:'id');
\a\t
-- Fields unquoted: the ids as they are, the values as the CSV prints them.
SELECT * FROM store_monitoring.report_csv(:'id');
-- COPY quotes the same ids the same way: the output equals the CSV above.
COPY (SELECT * FROM store_monitoring.report_csv(:'id')) TO STDOUT CSV HEADER;

-- Another role gets "does not exist"; a report not yet Complete is refused.
-- (Messages with the random id masked.)
CREATE ROLE report_csv_other;
SELECT set_config('my.id', :'id', false) IS NOT NULL AS saved;
SET ROLE report_csv_other;
DO $$
BEGIN
    PERFORM store_monitoring.report_csv(current_setting('my.id'));
EXCEPTION WHEN undefined_object THEN
    RAISE NOTICE 'refused: %', regexp_replace(SQLERRM, '"[^"]*"', '"<id>"');
END
$$;
RESET ROLE;
DROP ROLE report_csv_other;
BEGIN;
SELECT set_config('my.running', store_monitoring.trigger_report('2023-01-23 12:00+00'), true) IS NOT NULL AS triggered;
DO $$
BEGIN
    PERFORM store_monitoring.report_csv(current_setting('my.running'));
EXCEPTION WHEN object_not_in_prerequisite_state THEN
    RAISE NOTICE 'refused: %', regexp_replace(SQLERRM, '"[^"]*"', '"<id>"');
END
$$;
ROLLBACK;
