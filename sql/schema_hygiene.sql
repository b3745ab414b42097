-- Internals out of sight: what a role may see and call in the extension's
-- schemas. The usual way to open a schema to analysts, GRANT SELECT ON ALL
-- TABLES IN SCHEMA store_monitoring, must not open a path to other roles'
-- reports: reports live in schema _store_monitoring_internal, whose
-- functions and schema are closed to PUBLIC. Every user-facing object carries
-- a COMMENT.
\i sql/include/setup.psql
DROP ROLE IF EXISTS regress_sm_ops, regress_sm_tenant;
CREATE ROLE regress_sm_ops;     -- analyst: SELECT on every table of the schema
CREATE ROLE regress_sm_tenant;  -- triggers a report
GRANT SELECT ON store_monitoring.store_status, store_monitoring.business_hours,
                store_monitoring.store_timezone TO regress_sm_tenant;
GRANT SELECT ON ALL TABLES IN SCHEMA store_monitoring TO regress_sm_ops;

-- Runs a statement with `id` as $1; returns 'ok' or SQLSTATE: message, the
-- id shown as <id>.
CREATE FUNCTION pg_temp.err(stmt text, id text DEFAULT NULL)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    state text;
    message text;
BEGIN
    EXECUTE stmt USING id;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT;
    RETURN state || ': ' || CASE WHEN id IS NULL THEN message ELSE replace(message, id, '<id>') END;
END
$$;

INSERT INTO store_monitoring.store_timezone VALUES ('hy1', 'UTC');
INSERT INTO store_monitoring.store_status VALUES ('hy1', 'active', '2023-01-23 11:00+00');

-- The tenant's complete report.
SET ROLE regress_sm_tenant;
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00') AS tenant_id \gset
SELECT store_monitoring.wait_report(:'tenant_id');
SELECT count(*) AS own_reports FROM store_monitoring.list_reports();
RESET ROLE;

-- What the grant gave the analyst: the inputs and the import views, nothing
-- of the reports.
SELECT c.relname, has_table_privilege('regress_sm_ops', c.oid, 'SELECT') AS can_select
FROM pg_class c
WHERE c.relnamespace IN ('store_monitoring'::regnamespace, '_store_monitoring_internal'::regnamespace)
  AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
ORDER BY c.relnamespace::regnamespace::text, c.relname;

-- The analyst cannot learn of the tenant's report, by any way in.
SET ROLE regress_sm_ops;
SELECT f, pg_temp.err(stmt, :'tenant_id') AS error
FROM (VALUES
    (1, 'get_report', 'SELECT * FROM store_monitoring.get_report($1)'),
    (2, 'wait_report', 'SELECT store_monitoring.wait_report($1, ''0'')'),
    (3, 'report_rows', 'SELECT * FROM store_monitoring.report_rows($1)'),
    (4, 'report table', 'SELECT * FROM _store_monitoring_internal.report WHERE report_id = $1'),
    (5, 'result table', 'SELECT * FROM _store_monitoring_internal.report_result WHERE report_id = $1'),
    (6, 'old place', 'SELECT * FROM store_monitoring.report WHERE report_id = $1'),
    (7, '_visible_report', 'SELECT _store_monitoring_internal._visible_report($1)'),
    (8, '_triggered_in_this_transaction',
        'SELECT _store_monitoring_internal._triggered_in_this_transaction($1)'),
    (9, '_resume_orphaned_reports', 'SELECT _store_monitoring_internal._resume_orphaned_reports()')
) AS t(n, f, stmt)
ORDER BY n;
SELECT count(*) AS visible_reports FROM store_monitoring.list_reports();
RESET ROLE;

-- Behind the schema, the tables stay closed too: were USAGE on the schema
-- granted by mistake, nothing is granted on the tables; were SELECT granted
-- as well, row-level security without a policy shows no row.
GRANT USAGE ON SCHEMA _store_monitoring_internal TO regress_sm_ops;
SET ROLE regress_sm_ops;
SELECT pg_temp.err('SELECT * FROM _store_monitoring_internal.report WHERE report_id = $1',
                   :'tenant_id') AS with_usage;
RESET ROLE;
GRANT SELECT ON _store_monitoring_internal.report TO regress_sm_ops;
SET ROLE regress_sm_ops;
SELECT count(*) AS rows_with_select FROM _store_monitoring_internal.report;
RESET ROLE;
REVOKE ALL ON _store_monitoring_internal.report FROM regress_sm_ops;
REVOKE ALL ON SCHEMA _store_monitoring_internal FROM regress_sm_ops;

-- Nothing in the internal schema is open to PUBLIC: not the schema, no
-- function, no table.
SELECT has_schema_privilege('regress_sm_ops', '_store_monitoring_internal', 'USAGE') AS schema_usage;
SELECT p.oid::regprocedure AS internal_function,
       has_function_privilege('regress_sm_ops', p.oid, 'EXECUTE') AS executable
FROM pg_proc p WHERE p.pronamespace = '_store_monitoring_internal'::regnamespace
ORDER BY p.oid::regprocedure::text;

-- Trigger functions need no EXECUTE to fire: a loader with INSERT on an
-- import view loads through it although _import_row() is closed.
GRANT INSERT ON store_monitoring.store_timezone_import TO regress_sm_ops;
SET ROLE regress_sm_ops;
INSERT INTO store_monitoring.store_timezone_import VALUES ('hy2', 'Europe/Paris');
RESET ROLE;
SELECT * FROM store_monitoring.store_timezone ORDER BY store_id;

-- The user-facing schema holds no internal function (what \df shows).
SELECT p.oid::regprocedure AS function
FROM pg_proc p WHERE p.pronamespace = 'store_monitoring'::regnamespace
ORDER BY p.oid::regprocedure::text;

-- Every user-facing object has a comment: the schema, its types, tables,
-- views and their columns, functions. Lists what lacks one.
SELECT 'schema store_monitoring' AS uncommented
WHERE obj_description('store_monitoring'::regnamespace, 'pg_namespace') IS NULL
UNION ALL
SELECT 'type ' || t.oid::regtype
FROM pg_type t
WHERE t.typnamespace = 'store_monitoring'::regnamespace AND t.typtype IN ('e', 'd', 'c')
  AND t.typrelid = 0 AND obj_description(t.oid, 'pg_type') IS NULL
UNION ALL
SELECT 'relation ' || c.oid::regclass
FROM pg_class c
WHERE c.relnamespace = 'store_monitoring'::regnamespace AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
  AND obj_description(c.oid, 'pg_class') IS NULL
UNION ALL
SELECT 'column ' || c.oid::regclass || '.' || a.attname
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relnamespace = 'store_monitoring'::regnamespace AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
  AND col_description(c.oid, a.attnum) IS NULL
UNION ALL
SELECT 'function ' || p.oid::regprocedure
FROM pg_proc p
WHERE p.pronamespace = 'store_monitoring'::regnamespace
  AND obj_description(p.oid, 'pg_proc') IS NULL
ORDER BY 1;

-- And the comments are there for psql's \d+ and \df+ to show.
SELECT obj_description('store_monitoring.get_report(text)'::regprocedure, 'pg_proc') AS get_report;

DROP OWNED BY regress_sm_ops, regress_sm_tenant;
DROP ROLE regress_sm_ops, regress_sm_tenant;
