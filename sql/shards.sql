-- Shards: the catalog's rules, the checks at trigger time, and a
-- report whose shard cannot be reached. Reports that reach real shards are
-- in test/t/012_shards_report.pl (they need more than one server). Every object
-- made here is dropped at the end: with a shard left, every later report in
-- this database would go to it.
\i sql/include/setup.psql
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS postgres_fdw;
DROP ROLE IF EXISTS regress_sm_shard_user;
RESET client_min_messages;
CREATE ROLE regress_sm_shard_user;

-- add_shard takes only existing postgres_fdw servers, once.
SELECT store_monitoring.add_shard(NULL);
SELECT store_monitoring.add_shard('regress_sm_nowhere');
CREATE FOREIGN DATA WRAPPER regress_sm_other_fdw;
CREATE SERVER regress_sm_other FOREIGN DATA WRAPPER regress_sm_other_fdw;
SELECT store_monitoring.add_shard('regress_sm_other');
-- A server's owner decides where reports connect: only servers owned by a
-- superuser (or the extension's owner) are shards, when added and when used.
GRANT USAGE ON FOREIGN DATA WRAPPER postgres_fdw TO regress_sm_shard_user;
CREATE SERVER regress_sm_s2 FOREIGN DATA WRAPPER postgres_fdw
    OPTIONS (host '/nonexistent', port '2', dbname 'postgres');
ALTER SERVER regress_sm_s2 OWNER TO regress_sm_shard_user;
SELECT store_monitoring.add_shard('regress_sm_s2');
ALTER SERVER regress_sm_s2 OWNER TO CURRENT_USER;
SELECT store_monitoring.add_shard('regress_sm_s2');
ALTER SERVER regress_sm_s2 OWNER TO regress_sm_shard_user;
SELECT store_monitoring.trigger_report();
SELECT store_monitoring.remove_shard('regress_sm_s2');

-- A socket that does not exist: connecting fails at once, the same way on
-- every machine.
CREATE SERVER regress_sm_s1 FOREIGN DATA WRAPPER postgres_fdw
    OPTIONS (host '/nonexistent', port '1', dbname 'postgres');
SELECT store_monitoring.add_shard('regress_sm_s1');
SELECT store_monitoring.add_shard('regress_sm_s1');
SELECT server FROM store_monitoring.shards();
SELECT store_monitoring.remove_shard('regress_sm_other');

-- Other roles may list the shards but not change them.
SET ROLE regress_sm_shard_user;
SELECT server FROM store_monitoring.shards();
SELECT store_monitoring.add_shard('regress_sm_s1');
SELECT store_monitoring.remove_shard('regress_sm_s1');

-- Triggering needs USAGE on every shard's server and a user mapping for it
-- (the report connects as that mapping), not SELECT on the coordinator's
-- own input tables, which a coordinator does not read.
SELECT store_monitoring.trigger_report();
RESET ROLE;
GRANT USAGE ON FOREIGN SERVER regress_sm_s1 TO regress_sm_shard_user;
SET ROLE regress_sm_shard_user;
SELECT store_monitoring.trigger_report();
RESET ROLE;

-- A role that is not a superuser needs a password in its mapping, as with
-- postgres_fdw: the report fails before connecting, naming the shard.
CREATE USER MAPPING FOR regress_sm_shard_user SERVER regress_sm_s1 OPTIONS (user 'someone');
SET ROLE regress_sm_shard_user;
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS id \gset
RESET ROLE;
SELECT store_monitoring.wait_report(:'id');
SELECT status, error FROM store_monitoring.get_report(:'id');

-- A shard that cannot be reached fails the report, naming it; no rows.
CREATE USER MAPPING FOR CURRENT_USER SERVER regress_sm_s1;
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS id2 \gset
SELECT store_monitoring.wait_report(:'id2');
SELECT status, error FROM store_monitoring.get_report(:'id2');
SELECT count(*) FROM _store_monitoring_internal.report_result WHERE report_id = :'id2';

-- Without shards, reports are local again.
SELECT store_monitoring.remove_shard('regress_sm_s1');
SELECT store_monitoring.remove_shard('regress_sm_s1');
SELECT count(*) FROM store_monitoring.shards();
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS id3 \gset
SELECT store_monitoring.wait_report(:'id3');

DELETE FROM _store_monitoring_internal.report WHERE report_id IN (:'id', :'id2', :'id3');
DROP USER MAPPING FOR regress_sm_shard_user SERVER regress_sm_s1;
DROP USER MAPPING FOR CURRENT_USER SERVER regress_sm_s1;
DROP SERVER regress_sm_s1, regress_sm_s2, regress_sm_other;
REVOKE USAGE ON FOREIGN DATA WRAPPER postgres_fdw FROM regress_sm_shard_user;
DROP FOREIGN DATA WRAPPER regress_sm_other_fdw;
DROP ROLE regress_sm_shard_user;
