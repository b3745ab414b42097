#!/usr/bin/env bash
# check_exports.sh LIBRARY.so: the library exports only what PostgreSQL looks
# up by name (the module magic, _PG_init, pg_finfo_* and the functions the SQL
# scripts and the workers name), besides the standard library's template
# instances, whose visibility its headers fix. Anything else (the core's or
# the date library's symbols) could interpose with another extension's copy.
set -euo pipefail
lib=$1
bad=$(nm -D --defined-only "$lib" | awk '{print $3}' |
  grep -Ev '^(Pg_magic_func|_PG_init|pg_finfo_store_monitoring_[a-z_]+|store_monitoring_[a-z_]+)$' |
  grep -Ev '^_Z(T[ISV])?Z?N?K?St' || true)
if [[ -n "$bad" ]]; then
  echo "exported beyond the entry points:"
  echo "$bad" | head -20
  exit 1
fi
echo "exports: $(nm -D --defined-only "$lib" | grep -c ' T store_monitoring_') entry points, nothing of the core"
