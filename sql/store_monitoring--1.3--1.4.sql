-- store_monitoring 1.3 -> 1.4. A fresh install chains 1.0, 1.0--1.1,
-- 1.1--1.2, 1.2--1.3 and this script. Released scripts are never edited:
-- later changes go into a new upgrade script.
\echo Use "ALTER EXTENSION store_monitoring UPDATE TO '1.4'" to load this file. \quit

-- ==== coordinator: shard reports left behind are deleted on the shards ====
-- The reports a coordinator report started (or may have started) on its
-- shards that are still to be deleted there: recorded before each trigger
-- (a worker killed between a shard's trigger and recording its id leaves
-- this row, and the shard's report carries the coordinator report's id in
-- its label), and when a coordinator report is deleted (delete_report,
-- purge_reports, report_retention). The coordinator's workers delete them
-- on the shards as the owner's user mapping, then the row.
CREATE TABLE _store_monitoring_internal.shard_cleanup (
    report_id       text COLLATE "C" NOT NULL,  -- the coordinator's; it may be gone
    server          name NOT NULL,
    owner           oid NOT NULL,               -- whose user mapping deletes them
    shard_report_id text,                       -- the one recorded, if any
    noted_at        timestamptz NOT NULL DEFAULT pg_catalog.now(),  -- or last tried
    PRIMARY KEY (report_id, server)
);
ALTER TABLE _store_monitoring_internal.shard_cleanup ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON _store_monitoring_internal.shard_cleanup FROM PUBLIC;
COMMENT ON TABLE _store_monitoring_internal.shard_cleanup IS
    'Shard reports of coordinator reports still to be deleted on their shards';

CREATE FUNCTION _store_monitoring_internal.note_shard_cleanup()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO _store_monitoring_internal.shard_cleanup (report_id, server, owner, shard_report_id)
    SELECT OLD.report_id, s.server, OLD.owner, s.shard_report_id
    FROM _store_monitoring_internal.shard_report s
    WHERE s.report_id OPERATOR(pg_catalog.=) OLD.report_id
    ON CONFLICT (report_id, server)
        DO UPDATE SET shard_report_id = EXCLUDED.shard_report_id;
    RETURN OLD;
END
$$;
REVOKE ALL ON FUNCTION _store_monitoring_internal.note_shard_cleanup() FROM PUBLIC;
CREATE TRIGGER note_shard_cleanup BEFORE DELETE ON _store_monitoring_internal.report
    FOR EACH ROW EXECUTE FUNCTION _store_monitoring_internal.note_shard_cleanup();
-- ==== Worker locks: a report whose read meets a lock gives way ====
-- A worker does not wait for a lock held on a report's sources (or on
-- anything its read locks): it gives the report back, Running, to be
-- claimed again no earlier than retry_at, and fails it with the lock's
-- name once it has given way for store_monitoring.report_timeout.
ALTER TABLE _store_monitoring_internal.report
    ADD COLUMN lock_wait_since timestamptz,
    ADD COLUMN retry_at timestamptz;
COMMENT ON COLUMN _store_monitoring_internal.report.lock_wait_since IS
    'When the report first gave way to a lock its read met (NULL: never)';
COMMENT ON COLUMN _store_monitoring_internal.report.retry_at IS
    'A report that gave way to a lock is not claimed before this time';
