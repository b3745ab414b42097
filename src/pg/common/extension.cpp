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

// extversion of store_monitoring in this database, or "" when not installed.
std::string installed_version() {
  char* version = pg_call([] {
    char* result = nullptr;
    Relation extensions = table_open(ExtensionRelationId, AccessShareLock);
    ScanKeyData key;
    ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ,
                CStringGetDatum("store_monitoring"));
    SysScanDesc scan = systable_beginscan(extensions, ExtensionNameIndexId, true, nullptr, 1, &key);
    HeapTuple tuple = systable_getnext(scan);
    if (HeapTupleIsValid(tuple)) {
      bool is_null = true;
      Datum value =
          heap_getattr(tuple, Anum_pg_extension_extversion, RelationGetDescr(extensions), &is_null);
      if (!is_null) result = text_to_cstring(DatumGetTextPP(value));
    }
    systable_endscan(scan);
    table_close(extensions, AccessShareLock);
    return result;
  });
  return version ? std::string(version) : std::string();
}

}  // namespace

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
