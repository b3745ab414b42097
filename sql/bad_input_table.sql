-- Malformed input, table-driven: each case is one CSV text loaded with COPY
-- or one row inserted with INSERT, into a base table or into its strict
-- import view (store_monitoring.*_import). Every case must be refused with an
-- error that names the problem, and leave the tables as they were
-- (semantics.md, "Input that breaks the rules"). Then: what the base tables
-- accept that the import views refuse, bytes that are not UTF-8 (in databases
-- of known encodings), and malicious report ids.
\i sql/include/setup.psql

-- One good row per table, loaded through the import views.
COPY store_monitoring.store_status_import FROM stdin WITH (FORMAT csv, HEADER);
store_id,status,timestamp_utc
good,active,2023-01-23 10:00:00.388884 UTC
\.
COPY store_monitoring.business_hours_import FROM stdin WITH (FORMAT csv, HEADER);
store_id,day,start_time_local,end_time_local
good,0,09:00:00,24:00:00
\.
COPY store_monitoring.store_timezone_import FROM stdin WITH (FORMAT csv, HEADER);
store_id,timezone_str
good,America/New_York
\.
SELECT * FROM store_monitoring.store_status_import;
SELECT * FROM store_monitoring.business_hours_import;
SELECT * FROM store_monitoring.store_timezone_import;

---------------------------------------------------------------------------
-- The cases. `via` copy: `data` is the CSV text (no header), loaded with
-- COPY ... FROM PROGRAM (the server side of what \copy does); via insert:
-- `data` is the VALUES list of one INSERT. Empty unquoted CSV fields are
-- NULL, "" is the empty string.
---------------------------------------------------------------------------
CREATE TEMP TABLE input_case (
    n      integer GENERATED ALWAYS AS IDENTITY,
    name   text NOT NULL,
    target text NOT NULL,
    via    text NOT NULL CHECK (via IN ('copy', 'insert')),
    data   text NOT NULL
);
INSERT INTO input_case (name, target, via, data) VALUES
-- store_status
('unknown status',                    'store_status',          'copy',   's1,up,2023-01-23 10:00:00 UTC'),
('unknown status',                    'store_status_import',   'copy',   's1,up,2023-01-23 10:00:00 UTC'),
('status in upper case',              'store_status_import',   'insert', $$('s1', 'ACTIVE', '2023-01-23 10:00:00 UTC')$$),
('status with a trailing space',      'store_status_import',   'copy',   's1,active ,2023-01-23 10:00:00 UTC'),
('empty status ("")',                 'store_status',          'copy',   's1,"",2023-01-23 10:00:00 UTC'),
('empty status ("")',                 'store_status_import',   'copy',   's1,"",2023-01-23 10:00:00 UTC'),
('NULL status (empty field)',         'store_status_import',   'copy',   's1,,2023-01-23 10:00:00 UTC'),
('NULL store_id (empty field)',       'store_status',          'copy',   ',active,2023-01-23 10:00:00 UTC'),
('NULL store_id (empty field)',       'store_status_import',   'copy',   ',active,2023-01-23 10:00:00 UTC'),
('empty store_id ("")',               'store_status',          'copy',   '"",active,2023-01-23 10:00:00 UTC'),
('empty store_id ("")',               'store_status_import',   'copy',   '"",active,2023-01-23 10:00:00 UTC'),
('NULL timestamp (empty field)',      'store_status',          'copy',   's1,active,'),
('NULL timestamp',                    'store_status_import',   'insert', $$('s1', 'active', NULL)$$),
('empty timestamp ("")',              'store_status',          'copy',   's1,active,""'),
('empty timestamp ("")',              'store_status_import',   'copy',   's1,active,""'),
('timestamp without zone',            'store_status_import',   'copy',   's1,active,2023-01-23 10:00:00'),
('ISO timestamp without zone',        'store_status_import',   'copy',   's1,active,2023-01-23T10:00:00.5'),
('date only',                         'store_status_import',   'copy',   's1,active,2023-01-23'),
('zone name instead of an offset',    'store_status_import',   'copy',   's1,active,2023-01-23 10:00:00 America/New_York'),
('zone abbreviation',                 'store_status_import',   'copy',   's1,active,2023-01-23 10:00:00 EST'),
('offset out of range',               'store_status_import',   'copy',   's1,active,2023-01-23 10:00:00+16:00'),
('hour 25',                           'store_status',          'copy',   's1,active,2023-01-23 25:00:00 UTC'),
('hour 25',                           'store_status_import',   'copy',   's1,active,2023-01-23 25:00:00 UTC'),
('February 30',                       'store_status_import',   'copy',   's1,active,2023-02-30 10:00:00 UTC'),
('day-first date',                    'store_status_import',   'copy',   's1,active,23/01/2023 10:00:00 UTC'),
('far past: 1969',                    'store_status',          'copy',   's1,active,1969-12-31 23:59:59.999999 UTC'),
('far past: 1969',                    'store_status_import',   'copy',   's1,active,1969-12-31 23:59:59.999999 UTC'),
('far future: 2200',                  'store_status',          'copy',   's1,active,2200-01-01 00:00:00 UTC'),
('far future: 2200',                  'store_status_import',   'insert', $$('s1', 'active', '2200-01-01 00:00:00+00')$$),
('far future: year 10000',            'store_status',          'copy',   's1,active,10000-01-01 00:00:00 UTC'),
('far future: year 10000',            'store_status_import',   'copy',   's1,active,10000-01-01 00:00:00 UTC'),
('infinity',                          'store_status',          'copy',   's1,active,infinity'),
('infinity',                          'store_status_import',   'copy',   's1,active,infinity'),
('-infinity',                         'store_status',          'insert', $$('s1', 'active', '-infinity')$$),
('epoch as a number',                 'store_status_import',   'copy',   's1,active,1674468000'),
('256-byte store id',                 'store_status',          'copy',   repeat('9', 256) || ',active,2023-01-23 10:00:00 UTC'),
('256-byte store id',                 'store_status_import',   'copy',   repeat('9', 256) || ',active,2023-01-23 10:00:00 UTC'),
('10000-byte store id',               'store_status',          'copy',   repeat('9', 10000) || ',active,2023-01-23 10:00:00 UTC'),
('10000-byte store id',               'store_status_import',   'copy',   repeat('9', 10000) || ',active,2023-01-23 10:00:00 UTC'),
('store id with a line break',        'store_status_import',   'copy',   E'"s\n1",active,2023-01-23 10:00:00 UTC'),
('store id with a tab',               'store_status_import',   'insert', E'(''s\t1'', ''active'', ''2023-01-23 10:00:00 UTC'')'),
('store id with a trailing space',    'store_status_import',   'copy',   's1 ,active,2023-01-23 10:00:00 UTC'),
('missing column',                    'store_status',          'copy',   's1,active'),
('missing column',                    'store_status_import',   'copy',   's1,active'),
('extra column',                      'store_status',          'copy',   's1,active,2023-01-23 10:00:00 UTC,x'),
('extra column',                      'store_status_import',   'copy',   's1,active,2023-01-23 10:00:00 UTC,x'),
('good rows, then one bad row',       'store_status_import',   'copy',
    E's1,active,2023-01-23 10:00:00 UTC\ns2,inactive,2023-01-23 10:00:00 UTC\ns3,active,2023-01-23 10:00:00'),
-- business_hours
('weekday -1',                        'business_hours',        'copy',   's1,-1,09:00,17:00'),
('weekday -1',                        'business_hours_import', 'copy',   's1,-1,09:00,17:00'),
('weekday 7',                         'business_hours',        'copy',   's1,7,09:00,17:00'),
('weekday 7',                         'business_hours_import', 'copy',   's1,7,09:00,17:00'),
('weekday as a name',                 'business_hours_import', 'copy',   's1,Monday,09:00,17:00'),
('weekday 1.0',                       'business_hours_import', 'copy',   's1,1.0,09:00,17:00'),
('empty weekday ("")',                'business_hours',        'copy',   's1,"",09:00,17:00'),
('NULL weekday (empty field)',        'business_hours_import', 'copy',   's1,,09:00,17:00'),
('start 24:00:01',                    'business_hours',        'copy',   's1,0,24:00:01,17:00'),
('start 24:00:01',                    'business_hours_import', 'copy',   's1,0,24:00:01,17:00'),
('end 25:00',                         'business_hours_import', 'copy',   's1,0,09:00,25:00'),
('start with an offset (09:00+02)',   'business_hours_import', 'copy',   's1,0,09:00+02,17:00'),
('end with a zone (17:00 UTC)',       'business_hours_import', 'copy',   's1,0,09:00,17:00 UTC'),
('end with a zone name',              'business_hours',        'copy',   's1,0,09:00,17:00 America/New_York'),
('start 9am',                         'business_hours_import', 'copy',   's1,0,9am,17:00'),
('start without minutes',             'business_hours_import', 'copy',   's1,0,09,17:00'),
('empty start ("")',                  'business_hours',        'copy',   's1,0,"",17:00'),
('empty start ("")',                  'business_hours_import', 'copy',   's1,0,"",17:00'),
('NULL end (empty field)',            'business_hours',        'copy',   's1,0,09:00,'),
('NULL end',                          'business_hours_import', 'insert', $$('s1', '0', '09:00', NULL)$$),
('empty store_id ("")',               'business_hours_import', 'copy',   '"",0,09:00,17:00'),
('missing column',                    'business_hours',        'copy',   's1,0,09:00'),
('missing column',                    'business_hours_import', 'copy',   's1,0,09:00'),
('extra column',                      'business_hours_import', 'copy',   's1,0,09:00,17:00,18:00'),
('start 24:00 (an empty shift)',      'business_hours',        'copy',   's1,0,24:00,24:00'),
('start 24:00 (an empty shift)',      'business_hours',        'insert', $$('s1', 0, '24:00', '24:00')$$),
('start 24:00 (an empty shift)',      'business_hours_import', 'copy',   's1,0,24:00,24:00'),
('start 24:00:00',                    'business_hours_import', 'insert', $$('s1', '3', '24:00:00', '02:00')$$),
-- store_timezone
('misspelled zone',                   'store_timezone',        'copy',   's1,America/New_Yrok'),
('misspelled zone',                   'store_timezone_import', 'copy',   's1,America/New_Yrok'),
('invented zone',                     'store_timezone_import', 'copy',   's1,Mars/Olympus'),
('POSIX-style zone',                  'store_timezone_import', 'insert', $$('s1', 'UTC+5')$$),
('zone with a leading space',         'store_timezone_import', 'copy',   's1, UTC'),
('zone in lower case',                'store_timezone',        'copy',   's1,america/new_york'),
('empty zone ("")',                   'store_timezone_import', 'copy',   's1,""'),
('NULL zone (empty field)',           'store_timezone',        'copy',   's1,'),
('NULL zone (empty field)',           'store_timezone_import', 'copy',   's1,'),
('second zone row for a store',       'store_timezone',        'copy',   'good,UTC'),
('second zone row for a store',       'store_timezone_import', 'insert', $$('good', 'Asia/Tokyo')$$),
('two zone rows for a new store',     'store_timezone_import', 'copy',   E's1,UTC\ns1,Asia/Kolkata'),
('missing column',                    'store_timezone_import', 'copy',   's1'),
('extra column',                      'store_timezone',        'copy',   's1,UTC,UTC');

-- Runs one case: its SQLSTATE and message, and the row count of the base
-- table before and after.
CREATE FUNCTION pg_temp.run_case(target text, via text, data text,
                                 OUT state text, OUT message text,
                                 OUT rows_before bigint, OUT rows_after bigint)
LANGUAGE plpgsql AS $f$
DECLARE
    base text := 'store_monitoring.' || replace(target, '_import', '');
    program text;
BEGIN
    EXECUTE 'SELECT count(*) FROM ' || base INTO rows_before;
    BEGIN
        IF via = 'copy' THEN
            -- base64 keeps the shell out of the CSV's quotes and line breaks.
            program := 'echo ' || translate(encode(convert_to(data || E'\n', 'UTF8'), 'base64'),
                                            E'\n', '') || ' | base64 -d';
            EXECUTE format('COPY store_monitoring.%I FROM PROGRAM %L WITH (FORMAT csv, ENCODING %L)',
                           target, program, 'UTF8');
        ELSE
            EXECUTE format('INSERT INTO store_monitoring.%I VALUES %s', target, data);
        END IF;
        state := 'ACCEPTED';
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT;
    END;
    EXECUTE 'SELECT count(*) FROM ' || base INTO rows_after;
END
$f$;

CREATE TEMP TABLE before AS
    SELECT 'store_status' AS t, pg_catalog.md5(string_agg(s::text, ';' ORDER BY s::text)) AS h
    FROM store_monitoring.store_status s
    UNION ALL
    SELECT 'business_hours', pg_catalog.md5(string_agg(b::text, ';' ORDER BY b::text))
    FROM store_monitoring.business_hours b
    UNION ALL
    SELECT 'store_timezone', pg_catalog.md5(string_agg(z::text, ';' ORDER BY z::text))
    FROM store_monitoring.store_timezone z;

CREATE TEMP TABLE outcome AS
    SELECT c.n, c.name, c.via, c.target, r.*
    FROM input_case c, LATERAL pg_temp.run_case(c.target, c.via, c.data) r
    ORDER BY c.n;

-- One line per case: SQLSTATE, message, row count of the base table after it.
\pset format unaligned
\pset fieldsep ' | '
SELECT n, name, via || ' ' || target AS via_target, state, message,
       rows_after || CASE WHEN rows_after = rows_before THEN ' (unchanged)' ELSE ' (CHANGED)' END
           AS rows
FROM outcome ORDER BY n;
\pset format aligned

-- Summary: every case refused, nothing changed.
SELECT count(*) AS cases,
       count(*) FILTER (WHERE state <> 'ACCEPTED') AS refused,
       count(*) FILTER (WHERE rows_after = rows_before) AS unchanged,
       count(*) FILTER (WHERE target LIKE '%\_import') AS through_views,
       count(*) FILTER (WHERE via = 'copy') AS through_copy
FROM outcome;
SELECT b.t, b.h = a.h AS same_rows
FROM before b
JOIN (SELECT 'store_status' AS t, pg_catalog.md5(string_agg(s::text, ';' ORDER BY s::text)) AS h
      FROM store_monitoring.store_status s
      UNION ALL
      SELECT 'business_hours', pg_catalog.md5(string_agg(x::text, ';' ORDER BY x::text))
      FROM store_monitoring.business_hours x
      UNION ALL
      SELECT 'store_timezone', pg_catalog.md5(string_agg(z::text, ';' ORDER BY z::text))
      FROM store_monitoring.store_timezone z) a USING (t)
ORDER BY b.t;

---------------------------------------------------------------------------
-- The same through psql's COPY FROM STDIN (what \copy sends): a file whose
-- second line lacks a column loads nothing, into the table or the view.
---------------------------------------------------------------------------
COPY store_monitoring.store_status FROM stdin WITH (FORMAT csv, HEADER);
store_id,status,timestamp_utc
s1,active,2023-01-23 10:00:00 UTC
s2,active
\.
COPY store_monitoring.store_status_import FROM stdin WITH (FORMAT csv, HEADER);
store_id,status,timestamp_utc
s1,active,2023-01-23 10:00:00 UTC
s2,active
\.
COPY store_monitoring.business_hours_import FROM stdin WITH (FORMAT csv, HEADER);
store_id,day,start_time_local,end_time_local
s1,0,09:00:00,17:00:00
s1,1,09:00:00+02,17:00:00
\.
SELECT (SELECT count(*) FROM store_monitoring.store_status) AS polls,
       (SELECT count(*) FROM store_monitoring.business_hours) AS hours;

---------------------------------------------------------------------------
-- What the base tables accept and the import views refuse: PostgreSQL's
-- time drops a UTC offset or zone, and a timestamptz without a zone is read
-- in the session's TimeZone (here New York: 10:00 becomes 15:00 UTC). A store
-- id may hold a line break. Rolled back.
---------------------------------------------------------------------------
BEGIN;
SET LOCAL TimeZone = 'America/New_York';
COPY store_monitoring.store_status FROM stdin WITH (FORMAT csv);
base,active,2023-01-23 10:00:00
"base
2",active,2023-01-23 10:00:00 UTC
\.
INSERT INTO store_monitoring.business_hours VALUES ('base', 0, '09:00+02', '17:00 UTC');
SELECT store_id, status, timestamp_utc AT TIME ZONE 'UTC' AS stored_utc
FROM store_monitoring.store_status WHERE store_id LIKE 'base%' ORDER BY store_id;
SELECT * FROM store_monitoring.business_hours WHERE store_id = 'base';
ROLLBACK;

---------------------------------------------------------------------------
-- Bytes that are not UTF-8, in databases of known encodings (the test
-- database's own encoding depends on how the cluster was created).
---------------------------------------------------------------------------
SELECT pg_catalog.current_database() AS regress_db \gset
\set VERBOSITY terse
SET client_min_messages = warning;
DROP DATABASE IF EXISTS contrib_regression_sm_utf8;
DROP DATABASE IF EXISTS contrib_regression_sm_sql_ascii;
RESET client_min_messages;
CREATE DATABASE contrib_regression_sm_utf8
    TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C';
CREATE DATABASE contrib_regression_sm_sql_ascii
    TEMPLATE template0 ENCODING 'SQL_ASCII' LOCALE 'C';

-- UTF8: COPY refuses the byte 0xE9 ("café" in LATIN1) before any table or
-- view sees it.
\c contrib_regression_sm_utf8
SET client_min_messages = warning;
CREATE EXTENSION store_monitoring;
RESET client_min_messages;
COPY store_monitoring.store_status FROM PROGRAM 'printf ''caf\351,active,2023-01-23 10:00:00 UTC\n'''
    WITH (FORMAT csv, ENCODING 'UTF8');
COPY store_monitoring.store_status_import FROM PROGRAM 'printf ''caf\351,active,2023-01-23 10:00:00 UTC\n'''
    WITH (FORMAT csv, ENCODING 'UTF8');
COPY store_monitoring.store_timezone_import FROM PROGRAM 'printf ''s1,Europe/Z\374rich\n'''
    WITH (FORMAT csv, ENCODING 'UTF8');
SELECT (SELECT count(*) FROM store_monitoring.store_status) AS polls,
       (SELECT count(*) FROM store_monitoring.store_timezone) AS zones;

-- SQL_ASCII stores bytes unchecked (read the file as SQL_ASCII too: declared
-- UTF8, COPY would check it): the base table takes the id, the import view
-- refuses it.
\c contrib_regression_sm_sql_ascii
SET client_min_messages = warning;
CREATE EXTENSION store_monitoring;
RESET client_min_messages;
COPY store_monitoring.store_status_import FROM PROGRAM 'printf ''caf\351,active,2023-01-23 10:00:00 UTC\n'''
    WITH (FORMAT csv, ENCODING 'SQL_ASCII');
COPY store_monitoring.business_hours_import FROM PROGRAM 'printf ''\377\376,0,09:00,17:00\n'''
    WITH (FORMAT csv, ENCODING 'SQL_ASCII');
SELECT (SELECT count(*) FROM store_monitoring.store_status) AS polls,
       (SELECT count(*) FROM store_monitoring.business_hours) AS hours;
COPY store_monitoring.store_status FROM PROGRAM 'printf ''caf\351,active,2023-01-23 10:00:00 UTC\n'''
    WITH (FORMAT csv, ENCODING 'SQL_ASCII');
SELECT encode(pg_catalog.convert_to(store_id, 'SQL_ASCII'), 'hex') AS store_id_bytes
FROM store_monitoring.store_status;

\c :regress_db
\set VERBOSITY default
DROP DATABASE contrib_regression_sm_utf8;
DROP DATABASE contrib_regression_sm_sql_ascii;

---------------------------------------------------------------------------
-- Report ids: NULL, empty, overlong and malicious ids get "does not exist"
-- (or "must not be NULL") from every function, and the report table is
-- intact. trigger_report refuses a NULL or infinite as_of.
---------------------------------------------------------------------------
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
CREATE FUNCTION pg_temp.try_sql(sql text, OUT state text, OUT message text)
LANGUAGE plpgsql AS $f$
BEGIN
    EXECUTE sql;
    state := 'ACCEPTED';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT;
END
$f$;
CREATE TEMP TABLE bad_id (n integer GENERATED ALWAYS AS IDENTITY, label text, id text);
INSERT INTO bad_id (label, id) VALUES
    ('NULL', NULL),
    ('empty', ''),
    ('10000 characters', repeat('x', 10000)),
    ('SQL injection', $$'; DROP TABLE _store_monitoring_internal.report; --$$),
    ('SQL injection, double quotes', $$"); DROP TABLE _store_monitoring_internal.report; --$$),
    ('format directives', '%s%n%x%p'),
    ('backslash escapes', 'abc\0def\x00'),
    ('line break', E'line1\nline2'),
    ('LIKE pattern', '%'),
    ('regex', '.*'),
    ('a real id''s shape', 'AAAAAAAAAAAAAAAA');
SELECT count(*) AS reports_before FROM _store_monitoring_internal.report \gset
\pset format unaligned
\pset fieldsep ' | '
SELECT i.n, f.name AS function, i.label, r.state, r.message
FROM bad_id i
CROSS JOIN (VALUES (1, 'get_report'), (2, 'wait_report'), (3, 'report_rows')) f(k, name)
CROSS JOIN LATERAL pg_temp.try_sql(
    format('SELECT * FROM store_monitoring.%s(%L)', f.name, i.id)) r
ORDER BY i.n, f.k;
SELECT a.arg, r.state, r.message
FROM (VALUES ($$NULL, ''$$), ($$label => repeat('x', 64)$$), ($$'infinity'$$), ($$'-infinity'$$)) a(arg)
CROSS JOIN LATERAL pg_temp.try_sql(format('SELECT store_monitoring.trigger_report(%s)', a.arg)) r;
\pset format aligned
SELECT pg_catalog.to_regclass('_store_monitoring_internal.report') IS NOT NULL AS report_table_exists,
       count(*) = :reports_before AS no_report_changed
FROM _store_monitoring_internal.report;

-- Nothing bad got in.
SELECT * FROM store_monitoring.store_status ORDER BY store_id;
SELECT * FROM store_monitoring.business_hours ORDER BY store_id;
SELECT * FROM store_monitoring.store_timezone ORDER BY store_id;
