-- store_monitoring 1.3 -> 1.4. A fresh install chains 1.0, 1.0--1.1,
-- 1.1--1.2, 1.2--1.3 and this script. Released scripts are never edited:
-- later changes go into a new upgrade script.
\echo Use "ALTER EXTENSION store_monitoring UPDATE TO '1.4'" to load this file. \quit
