-- store_monitoring 1.2 -> 1.3. A fresh install chains 1.0, 1.0--1.1,
-- 1.1--1.2 and this script. Released scripts are never edited: later changes
-- go into a new upgrade script.
\echo Use "ALTER EXTENSION store_monitoring UPDATE TO '1.3'" to load this file. \quit

-- ==== business hours: no shift starts at 24:00 ====

-- The rules read an end from 23:59:00 on as midnight before they read start
-- = end as 24 hours, so a 24:00-24:00 row is an empty shift, not a day; a
-- shift from midnight starts at 00:00. New rows that start at 24:00 are
-- refused. NOT VALID: rows written before stay (the update must not fail on
-- them); reports keep reading them as the rules say and check_sources() lists
-- them. Once they are fixed, ALTER TABLE ... VALIDATE CONSTRAINT checks all.
ALTER TABLE store_monitoring.business_hours
    ADD CONSTRAINT start_time_local_is_before_24_00
    CHECK (start_time_local < '24:00:00'::time) NOT VALID;
COMMENT ON COLUMN store_monitoring.business_hours.start_time_local IS
    'Local opening time on day_of_week, 00:00:00 to 23:59:59.999999 (a shift from midnight starts at 00:00)';
COMMENT ON COLUMN store_monitoring.business_hours_import.start_time_local IS
    'Local time without offset, 00:00:00 to 23:59:59.999999';
COMMENT ON FUNCTION store_monitoring.check_sources() IS
    'Every row of the calling role''s sources that a report would refuse (NULL, unknown status or zone, weekday outside 0-6, second zone row, empty or overlong store id), and every shift that starts at 24:00 (a report keeps it as the rules say: with an end at or after 23:59:00 it is empty)';
