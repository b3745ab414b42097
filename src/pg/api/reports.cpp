// Reading reports. Nobody but the extension reads the report tables directly:
// with a plain SELECT grant (even behind row-level security) a role's own
// conditions on report_id run in the index before any visibility filter, and
// EXPLAIN ANALYZE would tell whether another role's id exists. These
// functions read as the table owner and show a report only to roles with the
// privileges of its owner (superusers included); every other id gets the
// same "does not exist". The results themselves are read in report_store.cpp.
#include "pg/common/extension.hpp"
#include "pg/common/pg_boundary.hpp"
#include "pg/api/trigger.hpp"
#include "pg/store/report_store.hpp"
#include "pg/shards/shards.hpp"
#include "pg/common/spi.hpp"

extern "C" {
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
}

#include <optional>
#include <string>
#include <string_view>

namespace store_monitoring::pg {
namespace {

std::string_view id_bytes(text* id) { return {VARDATA_ANY(id), VARSIZE_ANY_EXHDR(id)}; }

// A text column of the SPI row, detoasted: the value must not point into a
// toast table once it leaves SPI.
Datum detoasted_text(int column, bool* is_null) {
  Datum value = spi_value(0, column, is_null);
  if (*is_null) return value;
  return pg_call([&] { return PointerGetDatum(PG_DETOAST_DATUM_PACKED(value)); });
}

// A NULL id (say, latest_report() before the first report of its label)
// is no report: no row, rather than an error.
bool no_row_for_null_id(FunctionCallInfo fcinfo) {
  if (!PG_ARGISNULL(0)) return false;
  pg_call([&] { InitMaterializedSRF(fcinfo, 0); });
  return true;
}

// Reading a Running report also starts a worker when it has none (queued,
// or its worker died), unless the report was triggered by this very
// transaction (its worker starts at commit).
void resume_if_orphaned(std::string_view status, text* id) {
  if (status == status_text(ReportStatus::Running) && !triggered_in_this_transaction(id_bytes(id)))
    resume_orphaned_reports();
}

// get_report(report_id): status, csv, as_of and error of a report the caller
// may see; the CSV is rendered from the stored results.
Datum get_report(FunctionCallInfo fcinfo) {
  if (no_row_for_null_id(fcinfo)) return Datum(0);
  text* id = report_id_argument(fcinfo);
  Oid caller = GetUserId();
  pg_call([&] { InitMaterializedSRF(fcinfo, 0); });
  auto* result = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  std::string status;
  {
    SpiScope spi;
    find_visible_report(
        "SELECT r.owner, r.status, r.as_of, r.error "
        "FROM _store_monitoring_internal.report r WHERE r.report_id OPERATOR(pg_catalog.=) $1",
        id, caller);
    Datum values[4];
    bool nulls[4];
    values[0] = detoasted_text(2, &nulls[0]);
    values[2] = spi_value(0, 3, &nulls[2]);
    values[3] = detoasted_text(4, &nulls[3]);
    status = text_bytes(values[0]);
    std::optional<std::string> csv;
    if (status == status_text(ReportStatus::Complete)) csv = report_csv(id_bytes(id));
    nulls[1] = !csv;
    values[1] = csv ? text_datum(*csv) : Datum(0);
    // Copied into the tuplestore before SPI frees the row.
    pg_call([&] { tuplestore_putvalues(result->setResult, result->setDesc, values, nulls); });
  }
  resume_if_orphaned(status, id);
  return static_cast<Datum>(0);
}

constexpr int kStatusColumns = 9;

// report_status(report_id): the report's row alone (never its results), so
// that polling costs the same for any report size. as_of_text is as_of in
// UTC with every microsecond, for drivers whose timestamps keep less (a
// JavaScript Date keeps milliseconds): passed back as text to
// trigger_report, it gives the same T.
Datum report_status(FunctionCallInfo fcinfo) {
  if (no_row_for_null_id(fcinfo)) return Datum(0);
  text* id = report_id_argument(fcinfo);
  Oid caller = GetUserId();
  pg_call([&] { InitMaterializedSRF(fcinfo, 0); });
  auto* result = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  std::string status;
  {
    SpiScope spi;
    find_visible_report(
        "SELECT r.owner, r.status, r.phase, r.as_of, r.error, r.requested_at, r.started_at, "
        "r.finished_at, r.store_count FROM _store_monitoring_internal.report r "
        "WHERE r.report_id OPERATOR(pg_catalog.=) $1",
        id, caller);
    Datum values[kStatusColumns];
    bool nulls[kStatusColumns];
    values[0] = detoasted_text(2, &nulls[0]);
    values[1] = detoasted_text(3, &nulls[1]);
    values[2] = spi_value(0, 4, &nulls[2]);
    nulls[3] = nulls[2];
    values[3] = nulls[2] ? Datum(0) : text_datum(iso_timestamp(DatumGetTimestampTz(values[2])));
    values[4] = detoasted_text(5, &nulls[4]);
    for (int column = 5; column < kStatusColumns; ++column)
      values[column] = spi_value(0, column + 1, &nulls[column]);  // by value: timestamps, integer
    status = text_bytes(values[0]);
    pg_call([&] { tuplestore_putvalues(result->setResult, result->setDesc, values, nulls); });
  }
  resume_if_orphaned(status, id);
  return Datum(0);
}

}  // namespace
}  // namespace store_monitoring::pg

SM_PG_FUNCTION(store_monitoring_get_report, store_monitoring::pg::get_report)
SM_PG_FUNCTION(store_monitoring_report_status, store_monitoring::pg::report_status)
