-- The import views never lend their owner's identity (a superuser) to code
-- other roles can attach to the base tables. The attack: a role with only
-- TRIGGER on a base table (or a delegated owner of it) adds a BEFORE INSERT
-- trigger that tries ALTER ROLE ... SUPERUSER and records current_user; a
-- loader then inserts through the view. The trigger must run as the loader
-- (so the ALTER ROLE fails and the attacker stays a plain role), for each of
-- the three views.
\i sql/include/setup.psql
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_sm_loader, regress_sm_trig, regress_sm_tabowner;
RESET client_min_messages;
CREATE ROLE regress_sm_loader;    -- loads through the views
CREATE ROLE regress_sm_trig;      -- TRIGGER on the base tables only
CREATE ROLE regress_sm_tabowner;  -- becomes owner of store_timezone

-- The documented loader grant: INSERT on the view and on its table.
GRANT INSERT ON store_monitoring.store_status_import, store_monitoring.store_status,
                store_monitoring.business_hours_import, store_monitoring.business_hours,
                store_monitoring.store_timezone_import, store_monitoring.store_timezone
    TO regress_sm_loader;
GRANT TRIGGER ON store_monitoring.store_status, store_monitoring.business_hours,
                 store_monitoring.store_timezone TO regress_sm_trig;
GRANT CREATE ON SCHEMA public TO regress_sm_trig, regress_sm_tabowner;

-- What each trigger saw: the table, current_user, and whether ALTER ROLE
-- worked.
CREATE TABLE public.regress_sm_seen (tbl text, who name, escalated boolean);
GRANT INSERT ON public.regress_sm_seen TO PUBLIC;

SET ROLE regress_sm_trig;
CREATE FUNCTION public.regress_sm_escalate() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ok boolean := true;
BEGIN
    BEGIN
        EXECUTE 'ALTER ROLE regress_sm_trig SUPERUSER';
    EXCEPTION WHEN insufficient_privilege THEN
        ok := false;
    END;
    INSERT INTO public.regress_sm_seen VALUES (TG_TABLE_NAME, current_user, ok);
    RETURN NEW;
END
$$;
CREATE TRIGGER escalate BEFORE INSERT ON store_monitoring.store_status
    FOR EACH ROW EXECUTE FUNCTION public.regress_sm_escalate();
CREATE TRIGGER escalate BEFORE INSERT ON store_monitoring.business_hours
    FOR EACH ROW EXECUTE FUNCTION public.regress_sm_escalate();
RESET ROLE;

-- A delegated owner of store_timezone attaches its own trigger.
ALTER TABLE store_monitoring.store_timezone OWNER TO regress_sm_tabowner;
SET ROLE regress_sm_tabowner;
CREATE FUNCTION public.regress_sm_owner_escalate() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ok boolean := true;
BEGIN
    BEGIN
        EXECUTE 'ALTER ROLE regress_sm_tabowner SUPERUSER';
    EXCEPTION WHEN insufficient_privilege THEN
        ok := false;
    END;
    INSERT INTO public.regress_sm_seen VALUES (TG_TABLE_NAME, current_user, ok);
    RETURN NEW;
END
$$;
CREATE TRIGGER escalate BEFORE INSERT ON store_monitoring.store_timezone
    FOR EACH ROW EXECUTE FUNCTION public.regress_sm_owner_escalate();
RESET ROLE;

-- The loader loads one row through each view.
SET ROLE regress_sm_loader;
INSERT INTO store_monitoring.store_status_import VALUES ('s1', 'active', '2023-01-23 10:00 UTC');
INSERT INTO store_monitoring.business_hours_import VALUES ('s1', '0', '09:00', '17:00');
INSERT INTO store_monitoring.store_timezone_import VALUES ('s1', 'UTC');
RESET ROLE;

-- Expected: three rows, each run as regress_sm_loader, none escalated.
SELECT tbl, who, escalated FROM public.regress_sm_seen ORDER BY tbl;
-- Expected: neither attacker is a superuser.
SELECT rolname, rolsuper FROM pg_catalog.pg_roles
WHERE rolname IN ('regress_sm_trig', 'regress_sm_tabowner') ORDER BY rolname;
-- The rows went in.
SELECT (SELECT count(*) FROM store_monitoring.store_status) AS polls,
       (SELECT count(*) FROM store_monitoring.business_hours) AS hours,
       (SELECT count(*) FROM store_monitoring.store_timezone) AS zones;

-- A loader with INSERT on a view but not on its table is refused by
-- PostgreSQL's own privilege check, naming the table.
REVOKE INSERT ON store_monitoring.store_status FROM regress_sm_loader;
SET ROLE regress_sm_loader;
INSERT INTO store_monitoring.store_status_import VALUES ('s2', 'active', '2023-01-23 10:00 UTC');
RESET ROLE;

-- Clean up: the triggers, the delegated ownership, the roles.
DROP TRIGGER escalate ON store_monitoring.store_status;
DROP TRIGGER escalate ON store_monitoring.business_hours;
DROP TRIGGER escalate ON store_monitoring.store_timezone;
ALTER TABLE store_monitoring.store_timezone OWNER TO CURRENT_USER;
DROP TABLE public.regress_sm_seen;
DROP FUNCTION public.regress_sm_escalate(), public.regress_sm_owner_escalate();
REVOKE ALL ON store_monitoring.store_status_import, store_monitoring.store_status,
              store_monitoring.business_hours_import, store_monitoring.business_hours,
              store_monitoring.store_timezone_import, store_monitoring.store_timezone
    FROM regress_sm_loader, regress_sm_trig, regress_sm_tabowner;
REVOKE CREATE ON SCHEMA public FROM regress_sm_trig, regress_sm_tabowner;
DROP ROLE regress_sm_loader, regress_sm_trig, regress_sm_tabowner;
TRUNCATE store_monitoring.store_status, store_monitoring.business_hours,
         store_monitoring.store_timezone;
