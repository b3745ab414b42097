#include "pg/common/extension.hpp"

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
}

#include <string>

namespace store_monitoring::pg {
namespace {

struct InstalledExtension {
  Oid owner = InvalidOid;  // InvalidOid: not installed
  char* version = nullptr;
};

// store_monitoring's row of pg_extension in this database, read from the
// catalog (no SQL: no role's operators or search_path take part).
InstalledExtension installed_extension() {
  InstalledExtension found;
  pg_call([&] {
    Relation extensions = table_open(ExtensionRelationId, AccessShareLock);
    ScanKeyData key;
    ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ,
                CStringGetDatum("store_monitoring"));
    SysScanDesc scan = systable_beginscan(extensions, ExtensionNameIndexId, true, nullptr, 1, &key);
    HeapTuple tuple = systable_getnext(scan);
    if (HeapTupleIsValid(tuple)) {
      found.owner = reinterpret_cast<Form_pg_extension>(GETSTRUCT(tuple))->extowner;
      bool is_null = true;
      Datum value =
          heap_getattr(tuple, Anum_pg_extension_extversion, RelationGetDescr(extensions), &is_null);
      if (!is_null) found.version = text_to_cstring(DatumGetTextPP(value));
    }
    systable_endscan(scan);
    table_close(extensions, AccessShareLock);
  });
  return found;
}

// extversion of store_monitoring in this database, or "" when not installed.
std::string installed_version() {
  char* version = installed_extension().version;
  return version ? std::string(version) : std::string();
}

}  // namespace

Oid extension_owner() { return installed_extension().owner; }

void require_current_extension_version() {
  std::string version = installed_version();
  if (version == kExtensionVersion) return;
  if (version.empty())
    throw UserError(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                    "extension \"store_monitoring\" is not installed in this database");
  throw UserError(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                  "extension \"store_monitoring\" is at version " + version +
                      ", but its library is version " + kExtensionVersion,
                  "Run ALTER EXTENSION store_monitoring UPDATE.");
}

}  // namespace store_monitoring::pg
