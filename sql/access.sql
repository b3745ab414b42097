-- Access control and SQL safety: who may trigger a report, whose rows the
-- worker reads, who may see, wait for and read a report, and that neither a
-- caller's search_path nor a report id can steer the extension's SQL.
-- Roles are cluster-wide: all are named regress_sm_*, created here (after
-- dropping leftovers of an aborted run) and dropped at the end. Report ids
-- are random and never printed. No role but the extension reads the report
-- tables: reports are read through get_report(), wait_report(),
-- report_rows() and list_reports() (src/pg/report_read.cpp).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS store_monitoring;
DROP ROLE IF EXISTS regress_sm_none, regress_sm_partial, regress_sm_a, regress_sm_b,
    regress_sm_c, regress_sm_d, regress_sm_r, regress_sm_gone, regress_sm_x;
RESET client_min_messages;
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
TRUNCATE store_monitoring.store_status, store_monitoring.business_hours,
         store_monitoring.store_timezone;

CREATE ROLE regress_sm_none;     -- no privilege on the inputs
CREATE ROLE regress_sm_partial;  -- SELECT on store_status only
CREATE ROLE regress_sm_a;        -- reads the inputs; RLS hides some polls from it
CREATE ROLE regress_sm_b;        -- reads the inputs; another tenant
CREATE ROLE regress_sm_c;        -- member of regress_sm_a, inherits its privileges
CREATE ROLE regress_sm_d NOINHERIT;  -- member of regress_sm_a, does not inherit
CREATE ROLE regress_sm_r;        -- loses SELECT between trigger and worker
CREATE ROLE regress_sm_gone;     -- dropped between trigger and worker
CREATE ROLE regress_sm_x;        -- attacker: owns schema regress_sm_evil
GRANT regress_sm_a TO regress_sm_c, regress_sm_d;
GRANT SELECT ON store_monitoring.store_status TO regress_sm_partial;
GRANT SELECT ON store_monitoring.store_status, store_monitoring.business_hours,
                store_monitoring.store_timezone
    TO regress_sm_a, regress_sm_b, regress_sm_r, regress_sm_gone, regress_sm_x;

-- The rows of report_rows() rounded to 6 decimals.
\i sql/include/report_rows.psql

-- Runs a statement with `id` as $1 and returns 'ok' or the error: SQLSTATE,
-- message and hint, with `id` shown as `shown_as`. Runs as the caller and
-- under the caller's search_path (no SET clause), and uses only qualified
-- functions and operators, so that it works unchanged under the hostile
-- search_path of the attack cases below.
CREATE FUNCTION pg_temp.err(stmt text, id text, shown_as text DEFAULT '<id>')
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    state text;
    message text;
    hint text;
BEGIN
    EXECUTE stmt USING id;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
                            hint = PG_EXCEPTION_HINT;
    message := pg_catalog.concat(state, ': ', message,
                                 CASE WHEN hint OPERATOR(pg_catalog.<>) ''
                                      THEN pg_catalog.concat(' HINT: ', hint) END);
    RETURN CASE WHEN id IS NULL THEN message
                ELSE pg_catalog.replace(message, id, shown_as) END;
END
$$;

-- Two 24x7 stores in UTC, one active poll each on Mon 2023-01-23:
-- acc_vis at 11:00, acc_hid at 11:30.
INSERT INTO store_monitoring.store_timezone VALUES ('acc_vis', 'UTC'), ('acc_hid', 'UTC');
INSERT INTO store_monitoring.store_status VALUES
    ('acc_vis', 'active', '2023-01-23 11:00+00'),
    ('acc_hid', 'active', '2023-01-23 11:30+00');

-----------------------------------------------------------------------------
-- 1. Triggering needs SELECT on all three inputs.
-----------------------------------------------------------------------------

-- trigger_report() checks SELECT on store_status, business_hours and
-- store_timezone (in that order) for the current role before it records
-- anything, so the refusal names the first table the role cannot read and no
-- report row is left behind (the INSERT never ran).
SET ROLE regress_sm_none;
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00');
SELECT store_monitoring.trigger_report();
SET ROLE regress_sm_partial;
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00');
RESET ROLE;
SELECT count(*) AS reports_of_refused_roles FROM _store_monitoring_internal.report
WHERE owner IN ('regress_sm_none'::regrole, 'regress_sm_partial'::regrole);

-----------------------------------------------------------------------------
-- 2. The worker reads the inputs as the triggering role: row-level security
--    of that role decides what its report sees.
-----------------------------------------------------------------------------

ALTER TABLE store_monitoring.store_status ENABLE ROW LEVEL SECURITY;
CREATE POLICY regress_sm_a_sees_acc_vis ON store_monitoring.store_status
    FOR SELECT TO regress_sm_a USING (store_id = 'acc_vis');

SET ROLE regress_sm_a;
-- What regress_sm_a itself can read: the poll of acc_vis only.
SELECT store_id, timestamp_utc FROM store_monitoring.store_status;
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS a_id \gset
SET store_monitoring.report_time = 'latest';
SELECT store_monitoring.trigger_report() AS a_latest \gset
SELECT store_monitoring.wait_report(:'a_id') AS a_explicit,
       store_monitoring.wait_report(:'a_latest') AS a_latest;
-- T = 12:00, as regress_sm_a (which sees only acc_vis's poll):
--   acc_vis: active [09:00, 13:00) cut at T: [09:00, 12:00) = 3 h.
--     hour up 60 down 0; day up 3 down 21; week up 3 down 165.
--   acc_hid: its time-zone row is readable, its poll is not: open 24x7 and
--     never seen, so all of it is downtime: 60, 24, 168.
\a\t
SELECT csv FROM store_monitoring.get_report(:'a_id');
\a\t
SELECT * FROM pg_temp.rows(:'a_id');
-- 'latest' is the newest poll regress_sm_a can see, 11:00, not 11:30 (the
-- worker resolves it as the owner, so a hidden poll does not even move T).
--   acc_vis: poll at T counts; active [09:00, 11:00) = 2 h.
--     hour [10:00, 11:00) up 60; day up 2 down 22; week up 2 down 166.
--   acc_hid: all downtime: 60, 24, 168.
SELECT as_of FROM store_monitoring.get_report(:'a_latest');
SELECT * FROM pg_temp.rows(:'a_latest');
RESET ROLE;

-- The same reports as superuser (which bypasses RLS) see both polls.
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS su_id \gset
SELECT store_monitoring.trigger_report() AS su_latest \gset
SELECT store_monitoring.wait_report(:'su_id') AS su_explicit,
       store_monitoring.wait_report(:'su_latest') AS su_latest;
-- T = 12:00: acc_vis as above; acc_hid: active [09:30, 12:00) = 2.5 h.
--   acc_hid hour up 60; day up 2.5 down 21.5; week up 2.5 down 165.5.
\a\t
SELECT csv FROM store_monitoring.get_report(:'su_id');
\a\t
-- latest = 11:30 (acc_hid's poll).
--   acc_hid: [09:30, 11:30) = 2 h: hour up 60; day up 2 down 22; week up 2 down 166.
--   acc_vis: [09:00, 11:30) = 2.5 h: hour up 60; day up 2.5 down 21.5; week 2.5, 165.5.
SELECT as_of FROM store_monitoring.get_report(:'su_latest');
SELECT * FROM pg_temp.rows(:'su_latest');

DROP POLICY regress_sm_a_sees_acc_vis ON store_monitoring.store_status;
ALTER TABLE store_monitoring.store_status DISABLE ROW LEVEL SECURITY;
RESET store_monitoring.report_time;

-----------------------------------------------------------------------------
-- 3. Privileges are checked again when the worker reads, as the owner.
-----------------------------------------------------------------------------

-- SELECT revoked after the trigger but before the worker runs (in the same
-- transaction: the worker starts at commit). The worker reads as
-- regress_sm_r and is refused: the report ends Failed, with the error and no
-- rows. With an explicit T the refusal comes from reading the polls
-- (business_hours and store_timezone are still readable); with 'latest' it
-- comes at once from resolving T (max(timestamp_utc) of store_status), so
-- as_of stays NULL.
BEGIN;
SET ROLE regress_sm_r;
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS r_id \gset
SELECT store_monitoring.trigger_report() AS r_latest \gset
RESET ROLE;
REVOKE SELECT ON store_monitoring.store_status FROM regress_sm_r;
COMMIT;
SET ROLE regress_sm_r;
SELECT store_monitoring.wait_report(:'r_id') AS r_explicit,
       store_monitoring.wait_report(:'r_latest') AS r_latest;
SELECT status, error, as_of, csv IS NULL AS no_csv FROM store_monitoring.get_report(:'r_id');
SELECT status, error, as_of, csv IS NULL AS no_csv FROM store_monitoring.get_report(:'r_latest');
SELECT pg_temp.err('SELECT * FROM store_monitoring.report_rows($1)', :'r_id');
RESET ROLE;
SELECT count(*) AS result_rows FROM _store_monitoring_internal.report_result
WHERE report_id IN (:'r_id', :'r_latest');

-- The triggering role is dropped before the worker runs: the worker cannot
-- act as it and fails the report (it never falls back to its own superuser
-- identity). Such a report is visible to superusers only (its owner matches
-- no role any more).
BEGIN;
SET ROLE regress_sm_gone;
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS gone_id \gset
RESET ROLE;
REVOKE SELECT ON store_monitoring.store_status, store_monitoring.business_hours,
                 store_monitoring.store_timezone FROM regress_sm_gone;
DROP ROLE regress_sm_gone;
COMMIT;
SELECT store_monitoring.wait_report(:'gone_id');
SELECT status, error FROM store_monitoring.get_report(:'gone_id');
SELECT count(*) AS result_rows FROM _store_monitoring_internal.report_result WHERE report_id = :'gone_id';

-----------------------------------------------------------------------------
-- 4. A report is visible only to its owner, roles that inherit the owner's
--    privileges, and superusers.
-----------------------------------------------------------------------------

-- regress_sm_b asks for regress_sm_a's complete report: get_report,
-- wait_report and report_rows make the same check: they read the report as
-- the bootstrap superuser, show it only when has_privs_of_role(caller,
-- owner), and otherwise raise the same error (SQLSTATE, message and hint)
-- whether the id is unknown or someone else's.
SET ROLE regress_sm_b;
SELECT f, pg_temp.err(stmt, :'a_id') AS for_a_report,
       pg_temp.err(stmt, :'a_id') = pg_temp.err(stmt, 'AAAAAAAAAAAAAAAA') AS same_as_unknown_id
FROM (VALUES ('get_report', 'SELECT * FROM store_monitoring.get_report($1)'),
             ('wait_report', 'SELECT store_monitoring.wait_report($1)'),
             ('wait_report 0', 'SELECT store_monitoring.wait_report($1, ''0'')'),
             ('report_rows', 'SELECT * FROM store_monitoring.report_rows($1)')) AS v(f, stmt);
-- list_reports() lists regress_sm_a's report neither by id nor by owner;
-- regress_sm_b has triggered nothing, so it lists nothing at all.
SELECT count(*) AS by_id FROM store_monitoring.list_reports() WHERE report_id = :'a_id';
SELECT count(*) AS of_a FROM store_monitoring.list_reports() WHERE owner = 'regress_sm_a'::regrole;
SELECT count(*) AS all_visible FROM store_monitoring.list_reports();
-- The tables themselves are not readable: nothing is granted on them, to
-- PUBLIC or anyone (row-level security without policies stays on behind
-- that), which is what closes the side channel of the next case.
SELECT count(*) FROM _store_monitoring_internal.report WHERE report_id = :'a_id';
SELECT count(*) FROM _store_monitoring_internal.report_result WHERE report_id = :'a_id';

-- The side channel that a SELECT grant behind RLS opened: text equality is
-- leakproof, so the planner applied report_id = '<id>' in the primary-key
-- index before the RLS filter, and EXPLAIN ANALYZE showed "Rows Removed by
-- Filter: 1" for an existing id of another role and nothing for an unknown
-- one. Now EXPLAIN is refused like the SELECT (it checks the same privilege
-- before running anything).
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT * FROM _store_monitoring_internal.report WHERE report_id = :'a_id';
-- And what regress_sm_b can run tells regress_sm_a's id and a random id of
-- the same form (16 URL-safe base64 characters, never printed) apart in no
-- way: get_report() raises the same error, and list_reports() under
-- EXPLAIN ANALYZE gives the same plan and counts (the function returns only
-- the caller's reports, so the filter on report_id never sees another
-- role's). regress_sm_b triggers a report of its own first, so that the
-- filter has a row to remove: "Rows Removed by Filter: 1" for both ids.
RESET ROLE;
CREATE FUNCTION pg_temp.explain(stmt text, id text) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    line text;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || stmt USING id
    LOOP
        RETURN NEXT replace(line, id, '<id>');
    END LOOP;
END
$$;
SELECT translate(encode(substr(decode(md5(random()::text), 'hex'), 1, 12), 'base64'),
                 '+/', '-_') AS random_id \gset
SET ROLE regress_sm_b;
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS b_id \gset
SELECT store_monitoring.wait_report(:'b_id') AS b_report;
SELECT length(:'random_id') AS random_id_length,
       pg_temp.err('SELECT * FROM store_monitoring.get_report($1)', :'a_id') =
       pg_temp.err('SELECT * FROM store_monitoring.get_report($1)', :'random_id')
           AS same_get_report_error,
       array(SELECT pg_temp.explain('SELECT * FROM store_monitoring.list_reports() '
                                    'WHERE report_id = $1', :'a_id')) =
       array(SELECT pg_temp.explain('SELECT * FROM store_monitoring.list_reports() '
                                    'WHERE report_id = $1', :'random_id'))
           AS same_list_reports_plan;
SELECT pg_temp.explain('SELECT * FROM store_monitoring.list_reports() WHERE report_id = $1',
                       :'a_id') AS list_reports_for_a_id;

-- Nothing is granted on the tables: no role can write, forge or erase a report.
SELECT pg_temp.err('INSERT INTO _store_monitoring_internal.report (report_id, owner, report_time, '
                   'max_extrapolation, interpolation, requested_at) '
                   'VALUES ($1, ''regress_sm_b''::regrole, ''latest'', ''1 hour'', ''nearest'', now())',
                   'BBBBBBBBBBBBBBBB') AS insert_report;
SELECT pg_temp.err('UPDATE _store_monitoring_internal.report SET status = ''Failed'' WHERE report_id = $1',
                   :'a_id') AS update_report;
SELECT pg_temp.err('DELETE FROM _store_monitoring_internal.report WHERE report_id = $1', :'a_id') AS delete_report;
SELECT pg_temp.err('INSERT INTO _store_monitoring_internal.report_result VALUES ($1, ''s'', 0, 0, 0, 0, 0, 0)',
                   :'a_id') AS insert_result;
SELECT pg_temp.err('UPDATE _store_monitoring_internal.report_result SET uptime_last_hour = 0 WHERE report_id = $1',
                   :'a_id') AS update_result;
SELECT pg_temp.err('DELETE FROM _store_monitoring_internal.report_result WHERE report_id = $1',
                   :'a_id') AS delete_result;
SELECT pg_temp.err('TRUNCATE _store_monitoring_internal.report, _store_monitoring_internal.report_result',
                   :'a_id') AS truncate_reports;
-- Planner statistics would show sampled values of other roles' rows:
-- pg_stats shows a column's only to roles that may SELECT it (and hides
-- them where RLS applies), so here to superusers only.
RESET ROLE;
ANALYZE _store_monitoring_internal.report, _store_monitoring_internal.report_result;
SELECT count(*) > 0 AS superuser_sees_stats FROM pg_catalog.pg_stats
WHERE schemaname = '_store_monitoring_internal' AND tablename = 'report';
SET ROLE regress_sm_b;
SELECT count(*) AS b_sees_stats FROM pg_catalog.pg_stats
WHERE schemaname = '_store_monitoring_internal' AND tablename IN ('report', 'report_result');

-- The owner itself can neither write its report nor read the table: it
-- reads its reports through the functions like everyone else.
SET ROLE regress_sm_a;
SELECT pg_temp.err('UPDATE _store_monitoring_internal.report SET status = ''Failed'' WHERE report_id = $1',
                   :'a_id') AS owner_update;
SELECT pg_temp.err('SELECT * FROM _store_monitoring_internal.report WHERE report_id = $1',
                   :'a_id') AS owner_select;
SELECT count(*) AS own_by_id FROM store_monitoring.list_reports() WHERE report_id = :'a_id';
-- ... and it cannot see the superuser's report.
SELECT pg_temp.err('SELECT * FROM store_monitoring.get_report($1)', :'su_id') AS superusers_report;

-- A member that inherits regress_sm_a's privileges (GRANT regress_sm_a TO
-- regress_sm_c, INHERIT) sees its reports: the check is
-- has_privs_of_role(caller, owner), as documented ("roles whose privileges it
-- has"). list_reports() lists the report, with regress_sm_a as its owner.
SET ROLE regress_sm_c;
SELECT status FROM store_monitoring.get_report(:'a_id');
SELECT store_monitoring.wait_report(:'a_id', '0');
SELECT count(*) AS result_rows FROM store_monitoring.report_rows(:'a_id');
SELECT status, owner FROM store_monitoring.list_reports() WHERE report_id = :'a_id';
-- regress_sm_c's own report (it can trigger: it inherits SELECT on the
-- inputs) is not visible to regress_sm_a: membership works one way.
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS c_id \gset
SET ROLE regress_sm_a;
SELECT pg_temp.err('SELECT * FROM store_monitoring.get_report($1)', :'c_id') AS members_report;
SELECT count(*) AS by_id FROM store_monitoring.list_reports() WHERE report_id = :'c_id';

-- A NOINHERIT member does not have regress_sm_a's privileges without SET
-- ROLE, so it does not see the report either.
SET ROLE regress_sm_d;
SELECT pg_temp.err('SELECT * FROM store_monitoring.get_report($1)', :'a_id') AS noinherit_member;
SELECT count(*) AS by_id FROM store_monitoring.list_reports() WHERE report_id = :'a_id';

-- A superuser sees every report (it has the privileges of every role).
RESET ROLE;
SELECT status FROM store_monitoring.get_report(:'a_id');
SELECT count(*) AS result_rows FROM store_monitoring.report_rows(:'a_id');
SELECT status, owner FROM store_monitoring.list_reports() WHERE report_id = :'a_id';
SELECT owner FROM store_monitoring.list_reports() WHERE report_id = :'c_id';
SELECT store_monitoring.wait_report(:'c_id');

-----------------------------------------------------------------------------
-- 5. search_path: a hostile schema in the caller's path never captures a name
--    in the extension's SQL.
-----------------------------------------------------------------------------

-- regress_sm_x owns schema regress_sm_evil and fills it with look-alikes
-- (sql/include/hijack.psql, the same harness as test/t/007_security_access_worker.pl's)
-- of every operator, aggregate and function that the extension's SQL uses
-- unqualified, here: the plpgsql functions of 1.0 (text =, <>, ||, integer >,
-- interval <, timestamptz >= and +), the C code run as superuser in the
-- caller's backend by _resume_orphaned_reports() (text =, oid = integer,
-- bigint &) and by get_report(), wait_report(), report_rows() and
-- list_reports() (text =), the CHECK constraints (text =, integer >= <=).
-- A hijacked call would show in the output as a NOTICE, even when its
-- statement fails, and in regress_sm_evil.calls when it commits.
CREATE SCHEMA regress_sm_evil AUTHORIZATION regress_sm_x;
SET ROLE regress_sm_x;
\i sql/include/hijack.psql

-- The traps work: with regress_sm_evil first, an unqualified text = text is
-- captured. And even with pg_catalog FIRST, oid = integer is captured: an
-- exact match anywhere in the path beats pg_catalog's oid = oid, which needs
-- a cast. So only a path without untrusted schemas (the extension pins
-- pg_catalog, pg_temp) is safe, not merely "pg_catalog first".
SET search_path = regress_sm_evil, pg_catalog;
SELECT 'a'::text = 'a'::text AS text_eq;
SET search_path = pg_catalog, regress_sm_evil;
SELECT 1::oid = 1 AS oid_eq_integer;
RESET search_path;
SELECT who, what FROM regress_sm_evil.calls ORDER BY what;
DELETE FROM regress_sm_evil.calls;

-- The attacker calls every entry point under its hostile path. The C code
-- (trigger_report, get_report, wait_report, report_rows, list_reports) runs
-- its SQL as the bootstrap superuser: a captured operator there would run the
-- attacker's code as superuser. The internal functions are closed to it
-- (their query on pg_locks runs below for a superuser victim). The worker
-- computing the report runs in its own session
-- with its own pinned path: the caller's path never reaches it. No NOTICE may
-- appear below, and the report must be right (T = 12:00, same as a_id seen
-- by superuser above, since regress_sm_x is not subject to RLS here).
SET search_path = regress_sm_evil, pg_catalog;
BEGIN;
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS x_id \gset
SELECT pg_temp.err('SELECT _store_monitoring_internal._resume_orphaned_reports()', NULL) AS resume;
SELECT status FROM store_monitoring.get_report(:'x_id');
SELECT pg_temp.err('SELECT store_monitoring.wait_report($1)', :'x_id') AS wait_in_transaction;
SELECT pg_temp.err('SELECT * FROM store_monitoring.report_rows($1)', :'x_id') AS rows_of_running;
COMMIT;
SET store_monitoring.report_time = 'latest';
SELECT store_monitoring.trigger_report() AS x_latest \gset
RESET store_monitoring.report_time;
SELECT store_monitoring.wait_report(:'x_id') AS x_explicit,
       store_monitoring.wait_report(:'x_latest', '5 minutes') AS x_latest;
SELECT status, error, as_of FROM store_monitoring.get_report(:'x_id');
SELECT status, error, as_of FROM store_monitoring.get_report(:'x_latest');
SELECT count(*) AS result_rows FROM store_monitoring.report_rows(:'x_id');
SELECT pg_temp.err('SELECT * FROM store_monitoring.get_report($1)', 'AAAAAAAAAAAAAAAA') AS unknown_id;
SELECT pg_temp.err('SELECT * FROM store_monitoring.get_report($1)', repeat('x', 70), 'x*70') AS long_id;
SELECT pg_temp.err('SELECT store_monitoring.wait_report($1, ''-1 second'')', :'x_id') AS bad_timeout;
-- list_reports() lists the attacker's two reports (and nothing else).
SELECT count(*) AS own_reports FROM store_monitoring.list_reports();
RESET search_path;
\a\t
SELECT csv FROM store_monitoring.get_report(:'x_id');
\a\t
RESET ROLE;

-- A superuser whose search_path holds the attacker's schema (a victim: say
-- it lists a schema writable by others) uses the same entry points, and
-- inserts a poll (CHECK constraints are stored parsed too).
SET search_path = regress_sm_evil, pg_catalog;
SELECT status FROM store_monitoring.get_report(:'x_id');
SELECT store_monitoring.wait_report(:'x_id', '0');
SELECT count(*) AS result_rows FROM store_monitoring.report_rows(:'x_id');
-- _resume_orphaned_reports() inside the triggering transaction, so that its
-- query has a Running report to evaluate its pg_locks conditions on. It
-- returns nothing (whether some report was resumed is not the caller's to
-- know).
BEGIN;
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS v_id \gset
SELECT _store_monitoring_internal._resume_orphaned_reports();
COMMIT;
SELECT store_monitoring.wait_report(:'v_id');
INSERT INTO store_monitoring.store_status VALUES ('acc_new', 'active', '2023-01-23 10:00+00');
SELECT count(*) AS visible_reports_of_a FROM store_monitoring.list_reports()
WHERE owner OPERATOR(pg_catalog.=) 'regress_sm_a'::regrole;
RESET search_path;
DELETE FROM store_monitoring.store_status WHERE store_id = 'acc_new';
-- Nobody ran the attacker's code, in any session or worker.
SELECT count(*) AS hijacked_calls FROM regress_sm_evil.calls;

-----------------------------------------------------------------------------
-- 6. Report ids are data, never SQL or format strings.
-----------------------------------------------------------------------------

-- The id is a parameter or a plpgsql RAISE argument everywhere (no dynamic
-- SQL, no format string built from it): quotes, backslashes, format
-- directives and line breaks come back verbatim in the error, ids longer
-- than 64 characters are cut (the error stays bounded), and nothing runs.
SET ROLE regress_sm_b;
SELECT id, pg_temp.err('SELECT * FROM store_monitoring.get_report($1)', id, id) AS get_report
FROM (VALUES ('%s%s%s%n%d'), ('%'), ('x''); DROP TABLE _store_monitoring_internal.report; --'),
             (E'back\\slash "double" ''single'''), (E'line\nbreak'), (''),
             ('$1'), (repeat('%n', 40))) AS v(id);
SELECT pg_temp.err('SELECT store_monitoring.wait_report($1)', '%s%n', '%s%n') AS wait_report,
       pg_temp.err('SELECT * FROM store_monitoring.report_rows($1)', '%s%n', '%s%n') AS report_rows;
SELECT pg_temp.err('SELECT * FROM store_monitoring.get_report($1)', NULL, NULL) AS null_id;
RESET ROLE;
SELECT count(*) > 0 AS report_table_intact FROM _store_monitoring_internal.report;

-----------------------------------------------------------------------------
-- Clean up: the reports of the roles, then the roles and what they own.
-----------------------------------------------------------------------------

DELETE FROM _store_monitoring_internal.report_result WHERE report_id IN (
    SELECT r.report_id FROM _store_monitoring_internal.report r
    WHERE NOT EXISTS (SELECT FROM pg_roles o WHERE o.oid = r.owner)
       OR r.owner IN (SELECT o.oid FROM pg_roles o WHERE o.rolname LIKE 'regress\_sm\_%'));
DELETE FROM _store_monitoring_internal.report r
WHERE NOT EXISTS (SELECT FROM pg_roles o WHERE o.oid = r.owner)
   OR r.owner IN (SELECT o.oid FROM pg_roles o WHERE o.rolname LIKE 'regress\_sm\_%');
DROP OWNED BY regress_sm_none, regress_sm_partial, regress_sm_a, regress_sm_b,
    regress_sm_c, regress_sm_d, regress_sm_r, regress_sm_x;
DROP ROLE regress_sm_none, regress_sm_partial, regress_sm_a, regress_sm_b,
    regress_sm_c, regress_sm_d, regress_sm_r, regress_sm_x;
