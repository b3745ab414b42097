-- store_monitoring 1.4 -> 1.5. A fresh install chains 1.0, 1.0--1.1,
-- 1.1--1.2, 1.2--1.3, 1.3--1.4 and this script. Released scripts are never
-- edited: later changes go into a new upgrade script.
\echo Use "ALTER EXTENSION store_monitoring UPDATE TO '1.5'" to load this file. \quit

-- ==== sealed polls: old polls stored compactly ====
-- compact_polls() moves the polls of whole UTC days out of store_status
-- into one row per store and day: the day's poll times as increasing
-- offsets and the statuses, packed in `polls` (src/core/poll_segment.hpp:
-- about 5 bytes a poll where a row of store_status takes 150 with its
-- indexes). Reports, explain_store, check_sources and latest read them as
-- the rows they were. store_status stays the table applications write.
--
-- Who reads them: whoever may read store_id, status and timestamp_utc of
-- store_status, through the extension's functions (reports, the polls
-- view's sealed_poll_rows()), which check that first and then read the
-- table as its owner; nothing on the table itself is granted, so nothing
-- about its rows (not even a count, as a row-level security filter would
-- show EXPLAIN ANALYZE) reaches anyone else. While store_status has
-- row-level security of its own, sealed polls are refused (compact_polls()
-- does not seal, reads raise an error): its policies cannot be applied to
-- them.
CREATE TABLE store_monitoring.sealed_polls (
    day      date NOT NULL,
    store_id text COLLATE "C" NOT NULL,
    polls    bytea NOT NULL,
    PRIMARY KEY (store_id, day)
);
-- A report reads the days of its evidence range.
CREATE INDEX sealed_polls_day_idx ON store_monitoring.sealed_polls (day);
-- The packed polls barely compress; stored inline, uncompressed.
ALTER TABLE store_monitoring.sealed_polls ALTER COLUMN polls SET STORAGE EXTERNAL;
REVOKE ALL ON store_monitoring.sealed_polls FROM PUBLIC;
COMMENT ON TABLE store_monitoring.sealed_polls IS
    'Polls of whole UTC days moved out of store_status by compact_polls(): one row per store and day; store_monitoring.polls shows them as rows';
COMMENT ON COLUMN store_monitoring.sealed_polls.day IS
    'The UTC day of every poll of the row';
COMMENT ON COLUMN store_monitoring.sealed_polls.store_id IS
    'Store identifier, as in store_status';
COMMENT ON COLUMN store_monitoring.sealed_polls.polls IS
    'The day''s polls of the store, packed: read them with store_monitoring.unpack_polls(day, polls)';

-- One row per sealed day: its polls and its newest poll (for
-- poll_storage() and report_time = 'latest' without unpacking a day).
CREATE TABLE _store_monitoring_internal.sealed_day (
    day    date PRIMARY KEY,
    polls  bigint NOT NULL,
    newest timestamptz NOT NULL
);
REVOKE ALL ON _store_monitoring_internal.sealed_day FROM PUBLIC;
COMMENT ON TABLE _store_monitoring_internal.sealed_day IS
    'Per sealed UTC day: how many polls store_monitoring.sealed_polls holds, and the newest';

-- Sealed polls are user data: pg_dump keeps them.
SELECT pg_catalog.pg_extension_config_dump('store_monitoring.sealed_polls', '');
SELECT pg_catalog.pg_extension_config_dump('_store_monitoring_internal.sealed_day', '');

CREATE FUNCTION store_monitoring.unpack_polls(day date, polls bytea,
    OUT timestamp_utc timestamptz, OUT status store_monitoring.poll_status)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'store_monitoring_unpack_polls'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE ROWS 24;
COMMENT ON FUNCTION store_monitoring.unpack_polls(date, bytea) IS
    'The polls of one row of sealed_polls, in time order';

-- The sealed polls the caller may read (all of them, for whoever may read
-- store_status's polls; an error for anyone else), as rows; narrowed to a
-- store and to a time range through the table's keys.
CREATE FUNCTION store_monitoring.sealed_poll_rows(store_id text DEFAULT NULL,
    since timestamptz DEFAULT NULL, until timestamptz DEFAULT NULL)
RETURNS TABLE (store_id text, timestamp_utc timestamptz, status store_monitoring.poll_status)
AS 'MODULE_PATHNAME', 'store_monitoring_sealed_poll_rows'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 100000;
COMMENT ON FUNCTION store_monitoring.sealed_poll_rows(text, timestamptz, timestamptz) IS
    'Sealed polls as rows, for readers of store_status; store_id, since and until (inclusive) narrow them';

-- Raw and sealed polls together, as the invoker may read them.
CREATE VIEW store_monitoring.polls WITH (security_invoker = true) AS
    SELECT s.store_id, s.status, s.timestamp_utc, false AS sealed
    FROM store_monitoring.store_status s
    UNION ALL
    SELECT p.store_id, p.status, p.timestamp_utc, true AS sealed
    FROM store_monitoring.sealed_poll_rows() p;
GRANT SELECT ON store_monitoring.polls TO PUBLIC;
COMMENT ON COLUMN store_monitoring.polls.store_id IS 'Store identifier';
COMMENT ON COLUMN store_monitoring.polls.status IS 'Poll result: active or inactive';
COMMENT ON COLUMN store_monitoring.polls.timestamp_utc IS 'When the store was polled';
COMMENT ON COLUMN store_monitoring.polls.sealed IS
    'true: a sealed poll (sealed_polls), false: a row of store_status';
COMMENT ON VIEW store_monitoring.polls IS
    'Every poll, raw (store_status) and sealed (sealed_polls), with the privileges of the reader';

CREATE FUNCTION store_monitoring.compact_polls(older_than interval DEFAULT '1 day')
RETURNS bigint
AS 'MODULE_PATHNAME', 'store_monitoring_compact_polls'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION store_monitoring.compact_polls(interval) IS
    'Seals the polls of store_status of every UTC day that ended before now() - older_than, and applies store_monitoring.poll_retention; returns the polls sealed';
REVOKE ALL ON FUNCTION store_monitoring.compact_polls(interval) FROM PUBLIC;

CREATE FUNCTION store_monitoring.poll_storage(
    OUT raw_polls bigint, OUT compacted_polls bigint,
    OUT raw_bytes bigint, OUT compacted_bytes bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'store_monitoring_poll_storage'
LANGUAGE C STRICT STABLE PARALLEL UNSAFE;
COMMENT ON FUNCTION store_monitoring.poll_storage() IS
    'Polls and bytes on disk (tables and their indexes) of store_status and of sealed_polls';

-- compact_polls() merges a late poll's day into the sealed row of its store.
CREATE FUNCTION _store_monitoring_internal.merge_polls(day date, a bytea, b bytea)
RETURNS bytea
AS 'MODULE_PATHNAME', 'store_monitoring_merge_polls'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
REVOKE ALL ON FUNCTION _store_monitoring_internal.merge_polls(date, bytea, bytea) FROM PUBLIC;
