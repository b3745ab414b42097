-- store_monitoring 1.2 -> 1.3. A fresh install chains 1.0, 1.0--1.1,
-- 1.1--1.2 and this script. Released scripts are never edited: later changes
-- go into a new upgrade script.
\echo Use "ALTER EXTENSION store_monitoring UPDATE TO '1.3'" to load this file. \quit

-- Dead surface
-- _visible_report() had no caller left, and _triggered_in_this_transaction()
-- only wait_report(), which now asks the C++ function itself. The library
-- keeps their C symbols, which the released scripts name.
DROP FUNCTION _store_monitoring_internal._visible_report(text);
DROP FUNCTION _store_monitoring_internal._triggered_in_this_transaction(text);
