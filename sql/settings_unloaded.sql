-- Settings set before the library is loaded in a session. PostgreSQL keeps
-- them as untyped placeholders; when the library loads it only warns about a
-- value the setting refuses and uses the default. trigger_report() must then
-- refuse, with the error a SET gives once the library is loaded, instead of
-- computing a report with a default the user did not ask for.
\i sql/include/setup.psql
DROP ROLE IF EXISTS regress_sm_settings;
CREATE ROLE regress_sm_settings LOGIN;
SELECT current_user AS regress_superuser \gset
GRANT SELECT ON store_monitoring.store_status, store_monitoring.business_hours,
                store_monitoring.store_timezone TO regress_sm_settings;

-- The error with the library loaded, for reference.
SELECT store_monitoring.check_time_zone('UTC');
SET store_monitoring.max_extrapolation = 'banana';
SET store_monitoring.interpolation = 'linear';
SET store_monitoring.max_workers = 5;

-- A fresh session: the library is not loaded, so each SET is accepted.
\c
SET store_monitoring.max_extrapolation = 'banana';
SELECT count(*) AS loaded FROM pg_catalog.pg_settings
WHERE name = 'store_monitoring.max_extrapolation' AND vartype <> 'string';
-- Loading warns (PostgreSQL) and trigger_report refuses with the error above.
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00');
-- It stays refused while the value is in force ...
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00');
SHOW store_monitoring.max_extrapolation;
-- ... and a new SET replaces it: a report is triggered (rolled back: no worker).
SET store_monitoring.max_extrapolation = '1 hour';
BEGIN;
SELECT length(store_monitoring.trigger_report('2023-01-23 12:00+00')) AS id_length;
ROLLBACK;

-- RESET also replaces it: the user takes the default knowingly.
\c
SET store_monitoring.max_extrapolation = '8 days';
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00');
RESET store_monitoring.max_extrapolation;
BEGIN;
SELECT length(store_monitoring.trigger_report('2023-01-23 12:00+00')) AS id_length;
ROLLBACK;

-- An enum setting and a server-wide (sighup) one.
\c
SET store_monitoring.interpolation = 'linear';
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00');
\c
SET store_monitoring.max_workers = 5;
SELECT store_monitoring.trigger_report('2023-01-23 12:00+00');

-- A value from ALTER ROLE ... SET, stored unchecked while the library is not
-- loaded, and applied at login before the library loads.
\c
ALTER ROLE regress_sm_settings SET store_monitoring.report_time = 'yesterday-ish';
\c - regress_sm_settings
SELECT store_monitoring.trigger_report();
\c - :regress_superuser
ALTER ROLE regress_sm_settings RESET ALL;

-- Several bad values: one is reported at a time, until all are replaced.
\c
SET store_monitoring.report_time = 'never';
SET store_monitoring.max_extrapolation = '1 month';
SELECT store_monitoring.trigger_report();
SET store_monitoring.max_extrapolation = '2 hours';
SELECT store_monitoring.trigger_report();
SET store_monitoring.report_time = 'latest';
BEGIN;
SELECT length(store_monitoring.trigger_report()) AS id_length;
ROLLBACK;

-- Valid values set early are used as set: no warning, no error.
\c
SET store_monitoring.max_extrapolation = '90 min';
SET store_monitoring.interpolation = 'previous';
BEGIN;
SELECT length(store_monitoring.trigger_report('2023-01-23 12:00+00')) AS id_length;
SHOW store_monitoring.max_extrapolation;
SHOW store_monitoring.interpolation;
ROLLBACK;

\c
DROP OWNED BY regress_sm_settings;
DROP ROLE regress_sm_settings;
