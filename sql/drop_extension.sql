-- DROP EXTENSION store_monitoring never loses input rows without CASCADE:
-- the default input tables belong to the extension, and PostgreSQL would
-- drop them with it. While they hold rows the drop is refused, naming the
-- tables; CASCADE drops them; with empty tables a plain drop goes through.
-- (pg_dump/restore of the inputs: test/t/010_upgrade_dump_restore.pl.)
\i sql/include/setup.psql
DROP ROLE IF EXISTS regress_sm_dropper;
CREATE ROLE regress_sm_dropper;

INSERT INTO store_monitoring.store_status VALUES ('s1', 'active', '2023-01-23 10:00+00');
INSERT INTO store_monitoring.business_hours VALUES ('s1', 0, '09:00', '17:00');
INSERT INTO store_monitoring.store_timezone VALUES ('s1', 'UTC');

-- Refused, naming every table that holds rows; nothing is dropped.
DROP EXTENSION store_monitoring;
DROP EXTENSION IF EXISTS store_monitoring RESTRICT;
DROP EXTENSION plpgsql, store_monitoring;
SELECT (SELECT count(*) FROM store_monitoring.store_status) AS polls,
       (SELECT count(*) FROM store_monitoring.business_hours) AS hours,
       (SELECT count(*) FROM store_monitoring.store_timezone) AS zones;
-- One table with rows is enough.
TRUNCATE store_monitoring.store_status, store_monitoring.business_hours;
DROP EXTENSION store_monitoring;
SELECT count(*) AS zones FROM store_monitoring.store_timezone;

-- DROP OWNED BY the extension's owner would drop it too.
SELECT current_user AS regress_superuser \gset
DROP OWNED BY :"regress_superuser";
-- DROP SCHEMA without CASCADE fails on its own (the extension depends on it).
DROP SCHEMA store_monitoring;
SELECT count(*) AS zones FROM store_monitoring.store_timezone;

-- A role that may not drop the extension gets PostgreSQL's permission error,
-- not news of the tables' contents.
SET ROLE regress_sm_dropper;
DROP EXTENSION store_monitoring;
RESET ROLE;

-- Other drops are not concerned.
CREATE TABLE regress_sm_table (x int);
INSERT INTO regress_sm_table VALUES (1);
DROP TABLE regress_sm_table;
DROP EXTENSION IF EXISTS regress_sm_no_such_extension;

-- In a transaction that empties the tables first, the drop goes through.
BEGIN;
TRUNCATE store_monitoring.store_timezone;
DROP EXTENSION store_monitoring;
ROLLBACK;
SELECT count(*) AS zones_after_rollback FROM store_monitoring.store_timezone;

-- CASCADE, typed knowingly, drops the tables with their rows.
DROP EXTENSION store_monitoring CASCADE;
SELECT count(*) AS extensions FROM pg_catalog.pg_extension WHERE extname = 'store_monitoring';
SELECT count(*) AS event_triggers FROM pg_catalog.pg_event_trigger
WHERE evtname = 'store_monitoring_keep_inputs';

-- Empty input tables: a plain DROP EXTENSION loses nothing and goes through.
CREATE EXTENSION store_monitoring;
DROP EXTENSION store_monitoring;
SELECT count(*) AS extensions FROM pg_catalog.pg_extension WHERE extname = 'store_monitoring';

CREATE EXTENSION store_monitoring;
DROP ROLE regress_sm_dropper;
