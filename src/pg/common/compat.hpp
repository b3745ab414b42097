// Every call whose PostgreSQL API differs between the server versions this
// library is written for (15, 16, 17, 18), in one place. Call sites use
// these names; nothing else in src/pg tests PG_VERSION_NUM.
//
// Only 15 is built and tested; the 16, 17 and 18 branches were written from
// those releases' server headers, checked by reading, not yet by compiling
// (docs/compat.md lists each difference and where it was checked).
#pragma once

extern "C" {
#include "postgres.h"

#include "catalog/pg_foreign_server.h"
#include "catalog/pg_namespace.h"
#include "fmgr.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "utils/acl.h"
#include "utils/backend_status.h"
#include "utils/datetime.h"
#include "utils/guc_tables.h"
#include "utils/resowner.h"
#if PG_VERSION_NUM >= 180000
#include "storage/waiteventset.h"  // WaitEventSet left latch.h in 18
#endif
}

namespace store_monitoring::pg::compat {

// USAGE on a schema. 16 folded the per-object-type checks into
// object_aclcheck.
inline AclResult namespace_aclcheck(Oid schema, Oid role, AclMode mode) {
#if PG_VERSION_NUM >= 160000
  return object_aclcheck(NamespaceRelationId, schema, role, mode);
#else
  return pg_namespace_aclcheck(schema, role, mode);
#endif
}

// USAGE on a foreign server (likewise).
inline AclResult foreign_server_aclcheck(Oid server, Oid role, AclMode mode) {
#if PG_VERSION_NUM >= 160000
  return object_aclcheck(ForeignServerRelationId, server, role, mode);
#else
  return pg_foreign_server_aclcheck(server, role, mode);
#endif
}

// Every GUC variable and their number. 16 keeps them in a hash table and
// returns a palloc'd array (so this may raise an out-of-memory error: call it
// through pg_call); 15 returns its own array and counts apart.
inline config_generic** guc_variables(int* count) {
#if PG_VERSION_NUM >= 160000
  return get_guc_variables(count);
#else
  *count = GetNumConfigOptions();
  return get_guc_variables();
#endif
}

// The backend-status entry at position `index` (1-based) of this backend's
// snapshot. 16.0 renamed the by-index lookup (the old name went away; the new
// by-id one takes a backend id, later a proc number).
inline LocalPgBackendStatus* local_backend_status(int index) {
#if PG_VERSION_NUM >= 160000
  return pgstat_get_local_beentry_by_index(index);
#else
  return pgstat_fetch_stat_local_beentry(index);
#endif
}

// A wait-event set for `events` events, freed with FreeWaitEventSet. 17 ties
// it to a resource owner (released with it on abort) instead of a memory
// context.
inline WaitEventSet* create_wait_event_set(int events) {
#if PG_VERSION_NUM >= 170000
  return CreateWaitEventSet(CurrentResourceOwner, events);
#else
  return CreateWaitEventSet(CurrentMemoryContext, events);
#endif
}

// DecodeDateTime gained an error-detail argument in 16.
inline int decode_date_time(char** fields, int* field_types, int field_count, int* dtype, pg_tm* tm,
                            fsec_t* fsec, int* tz) {
#if PG_VERSION_NUM >= 160000
  DateTimeErrorExtra extra{};
  return DecodeDateTime(fields, field_types, field_count, dtype, tm, fsec, tz, &extra);
#else
  return DecodeDateTime(fields, field_types, field_count, dtype, tm, fsec, tz);
#endif
}

// Whether this process holds `mode` on `tag` (exactly that mode). 17 added
// the argument that also accepts a stronger mode.
inline bool lock_held_by_me(const LOCKTAG* tag, LOCKMODE mode) {
#if PG_VERSION_NUM >= 170000
  return LockHeldByMe(tag, mode, false);
#else
  return LockHeldByMe(tag, mode);
#endif
}

}  // namespace store_monitoring::pg::compat

// The module's magic block. 18 can carry the module's name and version
// (pg_get_loaded_modules() shows them); before 18 only the plain block exists.
#if PG_VERSION_NUM >= 180000
#define SM_PG_MODULE_MAGIC(name, version) PG_MODULE_MAGIC_EXT(.name = (name), .version = (version))
#else
#define SM_PG_MODULE_MAGIC(name, version) PG_MODULE_MAGIC
#endif
