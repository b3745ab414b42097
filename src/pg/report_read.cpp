// Reading reports. Nobody but the extension reads the report tables directly:
// with a plain SELECT grant (even behind row-level security) a role's own
// conditions on report_id run in the index before any visibility filter, and
// EXPLAIN ANALYZE would tell whether another role's id exists. These
// functions read as the table owner and show a report only to roles with the
// privileges of its owner (superusers included); every other id gets the
// same "does not exist".
#include "pg/report_read.hpp"

#include "pg/extension.hpp"
#include "pg/pg_boundary.hpp"
#include "pg/report_api.hpp"
#include "pg/spi.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/wait_event.h"
}

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

std::string_view id_bytes(text* id) { return {VARDATA_ANY(id), VARSIZE_ANY_EXHDR(id)}; }

// Runs `sql` (its $1 is the report id, its first column the report's owner)
// and raises the common error unless it found a report `caller` may see. The
// row stays in SPI_tuptable for the caller. `fresh_snapshot`: read in a new
// snapshot rather than the calling statement's.
void find_visible_report(const char* sql, text* id, Oid caller, bool fresh_snapshot = false) {
  uint64 found = spi_execute(sql, {{TEXTOID, PointerGetDatum(id)}}, !fresh_snapshot, 1);
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

// A text column of the SPI row, detoasted: the value must not point into a
// toast table once it leaves this function.
Datum detoasted_text(int column, bool* is_null) {
  Datum value = spi_value(0, column, is_null);
  if (*is_null) return value;
  return pg_call([&] { return PointerGetDatum(PG_DETOAST_DATUM_PACKED(value)); });
}

// get_report(report_id): status, csv, as_of and error of a report the caller
// may see. Reading a Running report also starts a worker when it has none
// (queued, or its worker died), unless the report was triggered by this very
// transaction (its worker starts at commit).
Datum get_report(FunctionCallInfo fcinfo) {
  text* id = report_id_argument(fcinfo);
  Oid caller = GetUserId();
  pg_call([&] { InitMaterializedSRF(fcinfo, 0); });
  auto* result = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  std::string status;
  {
    SpiScope spi;
    find_visible_report(
        "SELECT r.owner, r.status, r.csv, r.as_of, r.error "
        "FROM _store_monitoring_internal.report r WHERE r.report_id = $1",
        id, caller);
    Datum values[4];
    bool nulls[4];
    values[0] = detoasted_text(2, &nulls[0]);
    values[1] = detoasted_text(3, &nulls[1]);
    values[2] = spi_value(0, 4, &nulls[2]);
    values[3] = detoasted_text(5, &nulls[3]);
    status = text_bytes(values[0]);
    // Copied into the tuplestore before SPI frees the row.
    pg_call([&] { tuplestore_putvalues(result->setResult, result->setDesc, values, nulls); });
  }
  if (status == "Running" && !triggered_in_this_transaction(id_bytes(id)))
    resume_orphaned_reports();
  return static_cast<Datum>(0);
}

Datum interval_zero() {
  return pg_call(
      [] { return IntervalPGetDatum(static_cast<Interval*>(palloc0(sizeof(Interval)))); });
}

// wait_report(report_id, timeout): the status once the report is no longer
// Running or the timeout has passed. Polls the status every 20 ms and
// resumes an orphaned report at most once a second.
Datum wait_report(FunctionCallInfo fcinfo) {
  text* id = report_id_argument(fcinfo);
  ReportStatus report = report_status_for_caller(id);
  if (PG_ARGISNULL(1))
    throw UserError(ERRCODE_INVALID_PARAMETER_VALUE,
                    "timeout must be a non-negative interval, not NULL");
  Datum timeout = PG_GETARG_DATUM(1);
  if (pg_call(
          [&] { return DatumGetBool(DirectFunctionCall2(interval_lt, timeout, interval_zero())); }))
    throw UserError(ERRCODE_INVALID_PARAMETER_VALUE,
                    std::string("timeout must be a non-negative interval, not ") + pg_call([&] {
                      return DatumGetCString(DirectFunctionCall1(interval_out, timeout));
                    }));
  if (report.status == "Running" && report.triggered_in_this_transaction)
    throw UserError(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                    "report \"" + shown_id(id) +
                        "\" was triggered in this transaction and cannot start before it commits",
                    "Commit the transaction that called trigger_report(), then wait.");
  if (report.status == "Running" && XactIsoLevel != XACT_READ_COMMITTED)
    throw UserError(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                    "wait_report() needs a READ COMMITTED transaction to see the report finish");
  TimestampTz deadline = DatumGetTimestampTz(pg_call([&] {
    return DirectFunctionCall2(timestamptz_pl_interval, TimestampTzGetDatum(GetCurrentTimestamp()),
                               timeout);
  }));
  TimestampTz next_resume = GetCurrentTimestamp();
  for (;;) {
    TimestampTz now = GetCurrentTimestamp();
    if (report.status != "Running" || now >= deadline) break;
    if (now >= next_resume) {
      resume_orphaned_reports();
      next_resume = GetCurrentTimestamp() + USECS_PER_SEC;
    }
    pg_call([] {
      (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 20,
                      PG_WAIT_EXTENSION);
      ResetLatch(MyLatch);
      CHECK_FOR_INTERRUPTS();
    });
    report = report_status_for_caller(id);
  }
  return text_datum(report.status);
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
      "worker_memory_kb, error, owner::regrole, sources, owner "
      "FROM _store_monitoring_internal.report ORDER BY requested_at, lock_key",
      {}, true);
  pg_call([&] {
    TupleDesc desc = result->setDesc;
    constexpr int kColumns = 16;
    Datum values[kColumns];
    bool nulls[kColumns];
    for (uint64 i = 0; i < rows; ++i) {
      HeapTuple tuple = SPI_tuptable->vals[i];
      bool owner_null = false;
      Oid owner =
          DatumGetObjectId(SPI_getbinval(tuple, SPI_tuptable->tupdesc, kColumns + 1, &owner_null));
      if (!has_privs_of_role(caller, owner)) continue;
      for (int column = 0; column < kColumns; ++column)
        values[column] = SPI_getbinval(tuple, SPI_tuptable->tupdesc, column + 1, &nulls[column]);
      tuplestore_putvalues(result->setResult, desc, values, nulls);
    }
  });
  return static_cast<Datum>(0);
}

}  // namespace

ReportStatus report_status_for_caller(text* id) {
  Oid caller = GetUserId();
  ReportStatus report{};
  {
    SpiScope spi;
    find_visible_report(
        "SELECT r.owner, r.status FROM _store_monitoring_internal.report r WHERE r.report_id = $1",
        id, caller, true);
    bool is_null = false;
    report.status = text_bytes(detoasted_text(2, &is_null));
  }
  report.triggered_in_this_transaction = triggered_in_this_transaction(id_bytes(id));
  return report;
}

}  // namespace store_monitoring::pg

SM_PG_FUNCTION(store_monitoring_get_report, store_monitoring::pg::get_report)
SM_PG_FUNCTION(store_monitoring_wait_report, store_monitoring::pg::wait_report)
SM_PG_FUNCTION(store_monitoring_visible_report, [](FunctionCallInfo fcinfo) {
  return store_monitoring::pg::visible_report(store_monitoring::pg::report_id_argument(fcinfo),
                                              GetUserId());
})
SM_PG_FUNCTION(store_monitoring_report_rows, store_monitoring::pg::report_rows)
SM_PG_FUNCTION(store_monitoring_list_reports, store_monitoring::pg::list_reports)
