// Reading reports. Nobody but the extension reads the report tables directly:
// with a plain SELECT grant (even behind row-level security) a role's own
// conditions on report_id run in the index before any visibility filter, and
// EXPLAIN ANALYZE would tell whether another role's id exists. These
// functions read as the table owner and show a report only to roles with the
// privileges of its owner (superusers included); every other id gets the
// same "does not exist".
#include "pg/extension.hpp"
#include "pg/pg_boundary.hpp"
#include "pg/progress.hpp"
#include "pg/spi.hpp"

extern "C" {
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"
}

#include <optional>
#include <string>
#include <string_view>

namespace store_monitoring::pg {
namespace {

constexpr int kShownIdCharacters = 64;

std::string shown_id(text* id) {
  const char* data = VARDATA_ANY(id);
  int length = VARSIZE_ANY_EXHDR(id);
  int clipped = pg_call([&] { return pg_mbcharcliplen(data, length, kShownIdCharacters); });
  std::string shown(data, clipped);
  if (clipped < length) shown += "...";
  return shown;
}

[[noreturn]] void report_does_not_exist(text* id) {
  throw UserError(ERRCODE_UNDEFINED_OBJECT, "report \"" + shown_id(id) + "\" does not exist",
                  "Use the id that trigger_report() returned, as the role that triggered it.");
}

text* report_id_argument(FunctionCallInfo fcinfo) {
  if (PG_ARGISNULL(0))
    throw UserError(ERRCODE_NULL_VALUE_NOT_ALLOWED, "report_id must not be NULL");
  return PG_GETARG_TEXT_PP(0);
}

// Runs `sql` (its $1 is the report id, its first column the report's owner)
// and raises the common error unless it found a report `caller` may see. The
// row stays in SPI_tuptable for the caller.
void find_visible_report(const char* sql, text* id, Oid caller) {
  uint64 found = spi_execute(sql, {{TEXTOID, PointerGetDatum(id)}}, true, 1);
  if (found == 0) report_does_not_exist(id);
  bool is_null = false;
  Oid owner = DatumGetObjectId(spi_value(0, 1, &is_null));
  if (!pg_call([&] { return has_privs_of_role(caller, owner); })) report_does_not_exist(id);
}

// The report row (a composite datum, copied out of SPI).
Datum visible_report(text* id, Oid caller) {
  SpiScope spi;
  find_visible_report(
      "SELECT r.owner, r FROM _store_monitoring_internal.report r WHERE r.report_id = $1", id,
      caller);
  bool is_null = false;
  Datum row = spi_value(0, 2, &is_null);
  return pg_call([&] { return SPI_datumTransfer(row, false, -1); });
}

Datum report_rows(FunctionCallInfo fcinfo) {
  text* id = report_id_argument(fcinfo);
  Oid caller = GetUserId();
  pg_call([&] { InitMaterializedSRF(fcinfo, 0); });
  auto* result = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  SpiScope spi;
  find_visible_report(
      "SELECT r.owner, r.status FROM _store_monitoring_internal.report r WHERE r.report_id = $1",
      id, caller);
  bool is_null = false;
  std::string status = pg_call([&] { return TextDatumGetCString(spi_value(0, 2, &is_null)); });
  if (status != "Complete")
    throw UserError(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                    "report \"" + shown_id(id) + "\" is " + status + ", not Complete");
  uint64 rows = spi_execute(
      "SELECT store_id::text, uptime_last_hour, uptime_last_day, uptime_last_week, "
      "downtime_last_hour, downtime_last_day, downtime_last_week "
      "FROM _store_monitoring_internal.report_result WHERE report_id = $1 ORDER BY store_id",
      {{TEXTOID, PointerGetDatum(id)}}, true);
  pg_call([&] {
    for (uint64 i = 0; i < rows; ++i) tuplestore_puttuple(result->setResult, SPI_tuptable->vals[i]);
  });
  return static_cast<Datum>(0);
}

Datum list_reports(FunctionCallInfo fcinfo) {
  Oid caller = GetUserId();
  pg_call([&] { InitMaterializedSRF(fcinfo, 0); });
  auto* result = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  SpiScope spi;
  uint64 rows = spi_execute(
      "SELECT report_id::text, status, phase, as_of, report_time, max_extrapolation, "
      "interpolation, requested_at, started_at, finished_at, attempts, store_count, "
      "worker_memory_kb, error, owner::regrole, owner, progress_handle "
      "FROM _store_monitoring_internal.report ORDER BY requested_at, lock_key",
      {}, true);
  for (uint64 i = 0; i < rows; ++i) {
    HeapTuple tuple = SPI_tuptable->vals[i];
    TupleDesc source = SPI_tuptable->tupdesc;
    Datum values[17];
    bool nulls[17];
    bool visible = pg_call([&] {
      bool owner_null = false;
      Oid owner = DatumGetObjectId(SPI_getbinval(tuple, source, 16, &owner_null));
      if (!has_privs_of_role(caller, owner)) return false;
      for (int column = 0; column < 15; ++column)
        values[column] = SPI_getbinval(tuple, source, column + 1, &nulls[column]);
      return true;
    });
    if (!visible) continue;
    // stores_done, stores_total: the store count once Complete, the
    // worker's shared counters while it computes.
    std::string status(text_bytes(values[1]));
    nulls[15] = nulls[16] = true;
    if (status == "Complete" && !nulls[11]) {
      values[15] = values[16] = Int64GetDatum(DatumGetInt32(values[11]));
      nulls[15] = nulls[16] = false;
    } else if (status == "Running" && std::string_view(text_bytes(values[2])) == "queued") {
      values[15] = Int64GetDatum(0);
      nulls[15] = false;
    } else if (status == "Running") {
      bool handle_null = false;
      Datum handle = pg_call([&] { return SPI_getbinval(tuple, source, 17, &handle_null); });
      std::optional<ProgressCount> count;
      if (!handle_null)
        count = read_progress(DatumGetInt64(handle), std::string(text_bytes(values[0])));
      if (count) {
        values[15] = Int64GetDatum(static_cast<int64>(count->stores_done));
        values[16] = Int64GetDatum(static_cast<int64>(count->stores_total));
        nulls[15] = nulls[16] = false;
      }
    }
    pg_call([&] { tuplestore_putvalues(result->setResult, result->setDesc, values, nulls); });
  }
  return static_cast<Datum>(0);
}

}  // namespace
}  // namespace store_monitoring::pg

SM_PG_FUNCTION(store_monitoring_visible_report, [](FunctionCallInfo fcinfo) {
  return store_monitoring::pg::visible_report(store_monitoring::pg::report_id_argument(fcinfo),
                                              GetUserId());
})
SM_PG_FUNCTION(store_monitoring_report_rows, store_monitoring::pg::report_rows)
SM_PG_FUNCTION(store_monitoring_list_reports, store_monitoring::pg::list_reports)
