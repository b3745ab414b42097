// DROP EXTENSION store_monitoring without CASCADE must not lose input rows.
// The default input tables are members of the extension (so that pg_dump
// dumps them as its configuration tables and restore recreates them through
// CREATE EXTENSION), and PostgreSQL drops members with their extension, even
// under RESTRICT. This event trigger function, fired at ddl_command_start,
// refuses such a drop while those tables hold rows; CASCADE, typed
// knowingly, drops them. DROP OWNED BY the extension's owner, which drops the
// extension too, gets the same check. Only roles that may drop the extension
// learn why: everyone else goes on to PostgreSQL's own permission error.
#include "pg/common/extension.hpp"
#include "pg/common/pg_boundary.hpp"

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_extension.h"
#include "commands/event_trigger.h"
#include "commands/extension.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "utils/acl.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
}

#include <string>

namespace store_monitoring::pg {
namespace {

constexpr const char* kExtension = "store_monitoring";
constexpr const char* kInputTables[] = {"store_status", "sealed_polls", "business_hours",
                                       "store_timezone"};

bool names_extension(const DropStmt* stmt) {
  ListCell* cell = nullptr;
  foreach (cell, stmt->objects)
    if (IsA(lfirst(cell), String) && strcmp(strVal(lfirst(cell)), kExtension) == 0) return true;
  return false;
}

bool drops_owner(const DropOwnedStmt* stmt, Oid owner) {
  ListCell* cell = nullptr;
  foreach (cell, stmt->roles) {
    auto* role = static_cast<RoleSpec*>(lfirst(cell));
    if (pg_call([&] { return get_rolespec_oid(role, true); }) == owner) return true;
  }
  return false;
}

// Takes the lock the drop would take next, so that no insert can commit
// between this look and the drop, then looks for one row in a snapshot
// taken after it.
bool has_rows(Oid relation) {
  return pg_call([&] {
    Relation rel = table_open(relation, AccessExclusiveLock);
    Snapshot snapshot = RegisterSnapshot(GetLatestSnapshot());
    TableScanDesc scan = table_beginscan(rel, snapshot, 0, nullptr);
    TupleTableSlot* slot = table_slot_create(rel, nullptr);
    bool any = table_scan_getnextslot(scan, ForwardScanDirection, slot);
    ExecDropSingleTupleTableSlot(slot);
    table_endscan(scan);
    UnregisterSnapshot(snapshot);
    table_close(rel, NoLock);
    return any;
  });
}

Datum refuse_drop_with_inputs(FunctionCallInfo fcinfo) {
  if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
    throw UserError(ERRCODE_E_R_I_E_EVENT_TRIGGER_PROTOCOL_VIOLATED,
                    "_refuse_drop_with_inputs() must be fired as an event trigger");
  Node* command = reinterpret_cast<EventTriggerData*>(fcinfo->context)->parsetree;
  Oid owner = extension_owner();
  if (!OidIsValid(owner)) return static_cast<Datum>(0);
  const char* what = nullptr;
  if (IsA(command, DropStmt)) {
    auto* stmt = reinterpret_cast<DropStmt*>(command);
    if (stmt->removeType != OBJECT_EXTENSION || stmt->behavior == DROP_CASCADE ||
        !names_extension(stmt))
      return static_cast<Datum>(0);
    what = "cannot drop extension store_monitoring";
  } else if (IsA(command, DropOwnedStmt)) {
    auto* stmt = reinterpret_cast<DropOwnedStmt*>(command);
    if (stmt->behavior == DROP_CASCADE || !drops_owner(stmt, owner)) return static_cast<Datum>(0);
    what = "cannot drop the objects of the owner of extension store_monitoring";
  } else {
    return static_cast<Datum>(0);
  }
  if (!pg_call([&] { return has_privs_of_role(GetUserId(), owner); })) return static_cast<Datum>(0);
  Oid schema = pg_call([] { return get_namespace_oid(kExtension, true); });
  std::string holding;
  for (const char* table : kInputTables) {
    Oid relation = pg_call([&] { return get_relname_relid(table, schema); });
    if (!OidIsValid(relation) || !has_rows(relation)) continue;
    holding += holding.empty() ? "" : ", ";
    holding += std::string(kExtension) + "." + table;
  }
  if (holding.empty()) return static_cast<Datum>(0);
  throw UserError(
      ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST,
      std::string(what) + " without CASCADE while its input tables hold rows: " + holding,
      "The default input tables belong to the extension. Copy their rows out first "
      "(or keep your data in your own tables and read them with set_sources()), or "
      "drop them with the extension: DROP EXTENSION store_monitoring CASCADE.");
}

}  // namespace
}  // namespace store_monitoring::pg

SM_PG_FUNCTION(store_monitoring_refuse_drop_with_inputs,
               store_monitoring::pg::refuse_drop_with_inputs)
