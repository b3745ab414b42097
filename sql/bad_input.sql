-- Input that breaks the rules is refused when it is written, with an error
-- that names the bad value (semantics.md, "Input that breaks the rules"); a
-- load with one bad row loads nothing. Also: unknown report ids and bad
-- settings or arguments.
\i sql/include/setup.psql
-- Load the module, so that its settings are defined: a SET before that would
-- only create a placeholder.
SELECT store_monitoring.check_time_zone('UTC');

-- One good row per table.
INSERT INTO store_monitoring.store_status VALUES ('good', 'active', '2023-01-23 10:00+00');
INSERT INTO store_monitoring.business_hours VALUES ('good', 0, '09:00', '17:00');
INSERT INTO store_monitoring.store_timezone VALUES ('good', 'UTC');

---------------------------------------------------------------------------
-- store_status
---------------------------------------------------------------------------
-- A status other than active / inactive.
INSERT INTO store_monitoring.store_status VALUES ('bad', 'up', '2023-01-23 10:00+00');
INSERT INTO store_monitoring.store_status VALUES ('bad', 'ACTIVE', '2023-01-23 10:00+00');
INSERT INTO store_monitoring.store_status VALUES ('bad', '', '2023-01-23 10:00+00');
SELECT count(*) FROM store_monitoring.store_status;
-- NULL in each column.
INSERT INTO store_monitoring.store_status VALUES (NULL, 'active', '2023-01-23 10:00+00');
INSERT INTO store_monitoring.store_status VALUES ('bad', NULL, '2023-01-23 10:00+00');
INSERT INTO store_monitoring.store_status VALUES ('bad', 'active', NULL);
SELECT count(*) FROM store_monitoring.store_status;
-- Empty store_id.
INSERT INTO store_monitoring.store_status VALUES ('', 'active', '2023-01-23 10:00+00');
SELECT count(*) FROM store_monitoring.store_status;
-- COPY with one bad row (the third) loads nothing.
COPY store_monitoring.store_status (store_id, status, timestamp_utc) FROM stdin WITH (FORMAT csv);
ok1,active,2023-01-23 10:00:00+00
ok2,inactive,2023-01-23 10:00:00+00
bad3,unknown,2023-01-23 10:00:00+00
ok4,active,2023-01-23 10:00:00+00
\.
SELECT count(*) FROM store_monitoring.store_status;

---------------------------------------------------------------------------
-- business_hours
---------------------------------------------------------------------------
-- Weekday outside 0..6.
INSERT INTO store_monitoring.business_hours VALUES ('bad', -1, '09:00', '17:00');
INSERT INTO store_monitoring.business_hours VALUES ('bad', 7, '09:00', '17:00');
SELECT count(*) FROM store_monitoring.business_hours;
-- A multi-row load with one bad row loads nothing.
INSERT INTO store_monitoring.business_hours VALUES
    ('ok', 0, '09:00', '17:00'),
    ('ok', 7, '09:00', '17:00'),
    ('ok', 1, '09:00', '17:00');
SELECT count(*) FROM store_monitoring.business_hours;
-- NULL in each column.
INSERT INTO store_monitoring.business_hours VALUES (NULL, 0, '09:00', '17:00');
INSERT INTO store_monitoring.business_hours VALUES ('bad', NULL, '09:00', '17:00');
INSERT INTO store_monitoring.business_hours VALUES ('bad', 0, NULL, '17:00');
INSERT INTO store_monitoring.business_hours VALUES ('bad', 0, '09:00', NULL);
SELECT count(*) FROM store_monitoring.business_hours;
-- Empty store_id.
INSERT INTO store_monitoring.business_hours VALUES ('', 0, '09:00', '17:00');
SELECT count(*) FROM store_monitoring.business_hours;

---------------------------------------------------------------------------
-- store_timezone
---------------------------------------------------------------------------
-- Names that are not IANA zones: misspelled, invented, POSIX-style, empty,
-- and the host alias "localtime".
INSERT INTO store_monitoring.store_timezone VALUES ('bad', 'America/New_Yrok');
INSERT INTO store_monitoring.store_timezone VALUES ('bad', 'Mars/Olympus_Mons');
INSERT INTO store_monitoring.store_timezone VALUES ('bad', 'UTC+5');
INSERT INTO store_monitoring.store_timezone VALUES ('bad', '');
INSERT INTO store_monitoring.store_timezone VALUES ('bad', 'localtime');
SELECT count(*) FROM store_monitoring.store_timezone;
-- A second zone row for the same store, also within one statement.
INSERT INTO store_monitoring.store_timezone VALUES ('good', 'America/New_York');
INSERT INTO store_monitoring.store_timezone VALUES ('dup', 'UTC'), ('dup', 'Asia/Tokyo');
SELECT count(*) FROM store_monitoring.store_timezone;
-- NULL in each column.
INSERT INTO store_monitoring.store_timezone VALUES (NULL, 'UTC');
INSERT INTO store_monitoring.store_timezone VALUES ('bad', NULL);
SELECT count(*) FROM store_monitoring.store_timezone;
-- Empty store_id.
INSERT INTO store_monitoring.store_timezone VALUES ('', 'UTC');
SELECT count(*) FROM store_monitoring.store_timezone;
-- Known zones are accepted.
INSERT INTO store_monitoring.store_timezone VALUES
    ('ok_kolkata', 'Asia/Kolkata'), ('ok_new_york', 'America/New_York');
SELECT count(*) FROM store_monitoring.store_timezone;

---------------------------------------------------------------------------
-- Report ids. (Terse: the message names the id; the PL/pgSQL context is noise.)
---------------------------------------------------------------------------
\set VERBOSITY terse
SELECT * FROM store_monitoring.get_report('no-such-report');
SELECT store_monitoring.wait_report('no-such-report');
SELECT * FROM store_monitoring.report_rows('no-such-report');
SELECT * FROM store_monitoring.get_report(NULL);
SELECT store_monitoring.wait_report(NULL);
SELECT * FROM store_monitoring.report_rows(NULL);

---------------------------------------------------------------------------
-- Settings: a bad value is refused and the setting keeps its value.
---------------------------------------------------------------------------
SET store_monitoring.interpolation = 'linear';
SHOW store_monitoring.interpolation;
SET store_monitoring.max_extrapolation = 'abc';
SET store_monitoring.max_extrapolation = '-1 hour';
SET store_monitoring.max_extrapolation = '1 month';
-- More than 7 days (the documented upper bound, see README).
SET store_monitoring.max_extrapolation = '8 days';
SET store_monitoring.max_extrapolation = '168 hours 1 second';
SHOW store_monitoring.max_extrapolation;
SET store_monitoring.report_time = 'garbage';
SHOW store_monitoring.report_time;
-- Accepted forms (no error): the bounds and other spellings of an interval.
SET store_monitoring.max_extrapolation = '0';
SET store_monitoring.max_extrapolation = '7 days';
SET store_monitoring.max_extrapolation = '168 hours';
SET store_monitoring.max_extrapolation = '90 min';
SET store_monitoring.max_extrapolation = 'PT2H';
SET store_monitoring.interpolation = 'previous';
SET store_monitoring.report_time = 'now';
SET store_monitoring.report_time = '2023-01-23 12:00+00';
RESET store_monitoring.max_extrapolation;
RESET store_monitoring.interpolation;
RESET store_monitoring.report_time;

---------------------------------------------------------------------------
-- trigger_report arguments: no report is created. (as_of NULL means "use
-- store_monitoring.report_time", as when it is omitted.)
---------------------------------------------------------------------------
SELECT count(*) AS n0 FROM _store_monitoring_internal.report \gset
SELECT store_monitoring.trigger_report(label => '');
SELECT store_monitoring.trigger_report(NULL, repeat('x', 64));
SELECT store_monitoring.trigger_report('infinity');
SELECT store_monitoring.trigger_report('-infinity');
SELECT count(*) = :n0 AS no_new_report FROM _store_monitoring_internal.report;
\set VERBOSITY default

-- Nothing bad got in.
SELECT * FROM store_monitoring.store_status ORDER BY store_id COLLATE "C";
SELECT * FROM store_monitoring.business_hours ORDER BY store_id COLLATE "C";
SELECT * FROM store_monitoring.store_timezone ORDER BY store_id COLLATE "C";
