// Reading reports. Nobody but the extension reads the report tables directly:
// with a plain SELECT grant (even behind row-level security) a role's own
// conditions on report_id run in the index before any visibility filter, and
// EXPLAIN ANALYZE would tell whether another role's id exists. These
// functions read as the table owner and show a report only to roles with the
// privileges of its owner (superusers included); every other id gets the
// same "does not exist". The results themselves are read in store/render.cpp.
#include "core/report_engine.hpp"
#include "pg/common/datum.hpp"
#include "pg/common/extension.hpp"
#include "pg/common/pg_boundary.hpp"
#include "pg/api/trigger.hpp"
#include "pg/common/locks.hpp"
#include "pg/store/render.hpp"
#include "pg/store/states.hpp"
#include "pg/store/visibility.hpp"
#include "pg/common/spi.hpp"

extern "C" {
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
}

#include <algorithm>
#include <stdexcept>
#include <vector>
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

// The frame of the functions that return one row made from the report's own
// row (`columns` of it, r.owner first): `fill(id, values, nulls)` reads that
// row while SPI holds it and returns the status; the row is copied into the
// tuplestore before SPI frees it, then a Running report without a worker
// gets one (resume_if_orphaned).
template <int kColumns, typename Fill>
Datum report_row_function(FunctionCallInfo fcinfo, std::string_view columns, Fill fill) {
  if (no_row_for_null_id(fcinfo)) return Datum(0);
  text* id = report_id_argument(fcinfo);
  ReturnSetInfo* result = materialized_rows(fcinfo);
  std::string status;
  {
    VisibleReport report(report_row_sql(columns), id);
    Datum values[kColumns];
    bool nulls[kColumns];
    status = fill(id, values, nulls);
    pg_call([&] { tuplestore_putvalues(result->setResult, result->setDesc, values, nulls); });
  }
  resume_if_orphaned(status, id);
  return Datum(0);
}

// get_report(report_id): status, csv, as_of and error of a report the caller
// may see; the CSV is rendered from the stored results.
Datum get_report(FunctionCallInfo fcinfo) {
  auto fill = [](text* id, Datum* values, bool* nulls) {
    values[0] = detoasted_text(2, &nulls[0]);
    values[2] = spi_value(0, 3, &nulls[2]);
    values[3] = detoasted_text(4, &nulls[3]);
    std::string status(text_bytes(values[0]));
    std::optional<std::string> csv;
    if (status == status_text(ReportStatus::Complete)) csv = report_csv(id_bytes(id));
    nulls[1] = !csv;
    values[1] = csv ? text_datum(*csv) : Datum(0);
    return status;
  };
  return report_row_function<4>(fcinfo, "r.owner, r.status, r.as_of, r.error", fill);
}

constexpr int kStatusColumns = 9;

// report_status(report_id): the report's row alone (never its results), so
// that polling costs the same for any report size. as_of_text is as_of in
// UTC with every microsecond, for drivers whose timestamps keep less (a
// JavaScript Date keeps milliseconds): passed back as text to
// trigger_report, it gives the same T.
Datum report_status(FunctionCallInfo fcinfo) {
  return report_row_function<kStatusColumns>(
      fcinfo,
      "r.owner, r.status, r.phase, r.as_of, r.error, r.requested_at, r.started_at, "
      "r.finished_at, r.store_count",
      [](text*, Datum* values, bool* nulls) {
        values[0] = detoasted_text(2, &nulls[0]);
        values[1] = detoasted_text(3, &nulls[1]);
        values[2] = spi_value(0, 4, &nulls[2]);
        nulls[3] = nulls[2];
        values[3] = nulls[2] ? Datum(0) : text_datum(iso_timestamp(DatumGetTimestampTz(values[2])));
        values[4] = detoasted_text(5, &nulls[4]);
        for (int column = 5; column < kStatusColumns; ++column)
          values[column] =
              spi_value(0, column + 1, &nulls[column]);  // by value: timestamps, integer
        return std::string(text_bytes(values[0]));
      });
}

constexpr int kRowColumns = 10;

Datum report_rows(FunctionCallInfo fcinfo) {
  text* id = report_id_argument(fcinfo);
  std::string_view report_id(VARDATA_ANY(id), VARSIZE_ANY_EXHDR(id));
  ReturnSetInfo* result = materialized_rows(fcinfo);
  VisibleReport report(
      "SELECT r.owner, r.status, o.data FROM _store_monitoring_internal.report r "
      "LEFT JOIN _store_monitoring_internal.report_output o USING (report_id) "
      "WHERE r.report_id OPERATOR(pg_catalog.=) $1",
      id);
  bool is_null = false;
  std::string status = text_string(spi_value(0, 2, &is_null));
  if (status != status_text(ReportStatus::Complete))
    throw UserError(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                    "report \"" + shown_id(id) + "\" is " + status + ", not Complete");
  Datum data = spi_value(0, 3, &is_null);
  if (!is_null) {
    StoredReport report = stored_report(report_id, data);
    pg_call([&] {
      Datum values[kRowColumns];
      bool nulls[kRowColumns] = {};
      for (size_t i = 0; i < report.store_ids.size(); ++i) {
        const std::string& store_id = report.store_ids[i];
        const StoreDurations& d = report.durations[i];
        values[0] = PointerGetDatum(
            cstring_to_text_with_len(store_id.data(), static_cast<int>(store_id.size())));
        for (int w = 0; w < 3; ++w) {
          values[1 + w] = Float8GetDatum(to_report_unit(Window(w), d.uptime[w]));
          values[4 + w] = Float8GetDatum(to_report_unit(Window(w), d.downtime[w]));
          values[7 + w] = Float8GetDatum(to_report_unit(Window(w), d.unknown[w]));
          nulls[7 + w] = !report.has_unknown;
        }
        tuplestore_putvalues(result->setResult, result->setDesc, values, nulls);
        pfree(DatumGetPointer(values[0]));
      }
    });
    return Datum(0);
  }
  // Computed by version 1.0: rows in report_result, unknown time not recorded.
  uint64 rows = spi_execute(
      "SELECT store_id::text, uptime_last_hour, uptime_last_day, uptime_last_week, "
      "downtime_last_hour, downtime_last_day, downtime_last_week, NULL::float8, NULL::float8, "
      "NULL::float8 FROM _store_monitoring_internal.report_result WHERE report_id "
      "OPERATOR(pg_catalog.=) $1 "
      "ORDER BY store_id",
      {{TEXTOID, PointerGetDatum(id)}}, true);
  pg_call([&] {
    for (uint64 i = 0; i < rows; ++i) tuplestore_puttuple(result->setResult, SPI_tuptable->vals[i]);
  });
  return Datum(0);
}

// _report_csv(id): the CSV of a report the caller may see (NULL unless
// Complete), for tests and checks run by superusers; not granted to PUBLIC.
Datum report_csv_function(FunctionCallInfo fcinfo) {
  text* id = report_id_argument(fcinfo);
  { VisibleReport report(report_row_sql("r.owner"), id); }
  std::optional<std::string> csv =
      report_csv(std::string_view(VARDATA_ANY(id), VARSIZE_ANY_EXHDR(id)));
  if (!csv) {
    fcinfo->isnull = true;
    return Datum(0);
  }
  return text_datum(*csv);
}

// wait_report(id, timeout): sleeps on its latch until the report ends. The
// worker that ends it sets the latch of every backend holding the wait lock
// of the report (see kWaitLockClass); a re-check every second covers what
// wakes nobody (a report queued for a free worker, a worker that died, a role
// holding the wait lock to keep waiters from registering).
constexpr long kRecheckMs = 1000;

struct WaitState {
  std::string status;
  uint32 lock_key = 0;
};

WaitState read_wait_state(text* id) {
  // Not read-only: in READ COMMITTED each statement takes a new snapshot, so
  // every re-check sees the worker's commit.
  VisibleReport report(report_row_sql("r.owner, r.status, r.lock_key"), id, false);
  bool is_null = false;
  WaitState state;
  state.status = text_string(spi_value(0, 2, &is_null));
  state.lock_key = static_cast<uint32>(DatumGetInt64(spi_value(0, 3, &is_null)));
  return state;
}

Datum wait_report(FunctionCallInfo fcinfo) {
  text* id = report_id_argument(fcinfo);
  if (PG_ARGISNULL(1) || interval_us(PG_GETARG_INTERVAL_P(1)) < 0)
    throw UserError(
        ERRCODE_INVALID_PARAMETER_VALUE,
        "timeout must be a non-negative interval, not " +
            (PG_ARGISNULL(1) ? std::string("NULL") : std::string(pg_call([&] {
              return DatumGetCString(DirectFunctionCall1(interval_out, PG_GETARG_DATUM(1)));
            }))));
  int64 timeout_us = interval_us(PG_GETARG_INTERVAL_P(1));
  WaitState state = read_wait_state(id);
  const char* running = status_text(ReportStatus::Running);
  if (state.status != running) return text_datum(state.status);
  if (triggered_in_this_transaction({VARDATA_ANY(id), VARSIZE_ANY_EXHDR(id)}))
    throw UserError(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                    "report \"" + shown_id(id) +
                        "\" was triggered in this transaction and cannot start before it commits",
                    "Commit the transaction that called trigger_report(), then wait.");
  if (XactIsoLevel != XACT_READ_COMMITTED)
    throw UserError(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                    "wait_report() needs a READ COMMITTED transaction to see the report finish");

  // In the extension's private tag space (locks.hpp): no SQL caller can
  // take or block it. Transaction level: released by the end of this call,
  // or by the abort of an error or a cancel.
  LOCKTAG tag = advisory_tag(kWaitLockClass, state.lock_key);
  bool registered =
      pg_call([&] { return LockAcquire(&tag, ShareLock, false, true); }) != LOCKACQUIRE_NOT_AVAIL;
  TimestampTz deadline = GetCurrentTimestamp();
  deadline = timeout_us > PG_INT64_MAX - deadline ? PG_INT64_MAX : deadline + timeout_us;
  TimestampTz next_resume = GetCurrentTimestamp();
  for (;;) {
    pg_call([] { ResetLatch(MyLatch); });
    state = read_wait_state(id);
    TimestampTz now = GetCurrentTimestamp();
    if (state.status != running || now >= deadline) break;
    if (now >= next_resume) {
      // A queued report, or one whose worker died, needs a worker started.
      resume_orphaned_reports();
      next_resume = now + kRecheckMs * 1000;
    }
    long sleep_ms = static_cast<long>(std::min<int64>((deadline - now + 999) / 1000, kRecheckMs));
    pg_call([&] {
      (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, sleep_ms,
                      PG_WAIT_EXTENSION);
      CHECK_FOR_INTERRUPTS();
    });
  }
  if (registered) pg_call([&] { LockRelease(&tag, ShareLock, false); });
  return text_datum(state.status);
}

// report_csv(id): a report's CSV as rows, built from its stored results
// with the same formatting as the CSV itself (csv_fields), so that COPY ...
// CSV HEADER writes it back byte for byte. A report computed by version 1.0
// (CSV stored as text) is split from that text.
constexpr size_t kCsvColumns = 7;

Datum report_csv_rows(FunctionCallInfo fcinfo) {
  if (PG_ARGISNULL(0))
    throw UserError(ERRCODE_NULL_VALUE_NOT_ALLOWED, "report_id must not be NULL");
  text* id = PG_GETARG_TEXT_PP(0);
  std::string_view report_id = id_bytes(id);
  ReturnSetInfo* result = materialized_rows(fcinfo);
  std::string status;
  std::optional<StoredReport> stored;
  std::vector<std::vector<std::string>> legacy;
  {
    VisibleReport report(
        "SELECT r.owner, r.status, o.data, r.csv FROM _store_monitoring_internal.report r "
        "LEFT JOIN _store_monitoring_internal.report_output o USING (report_id) "
        "WHERE r.report_id OPERATOR(pg_catalog.=) $1",
        id);
    bool is_null = false;
    status = text_string(spi_value(0, 2, &is_null));
    if (status == status_text(ReportStatus::Complete)) {
      Datum data = spi_value(0, 3, &is_null);
      if (!is_null) {
        stored = stored_report(report_id, data);
      } else {
        Datum csv = spi_value(0, 4, &is_null);
        if (is_null) throw UserError(ERRCODE_DATA_CORRUPTED, "the complete report has no CSV");
        try {
          legacy = split_csv(text_string(csv));
        } catch (const std::invalid_argument& e) {
          throw UserError(ERRCODE_DATA_CORRUPTED, e.what());
        }
        if (legacy.empty() || legacy[0].size() != kCsvColumns)
          throw UserError(ERRCODE_DATA_CORRUPTED, "CSV: not a report's header line");
      }
    }
  }
  if (status != status_text(ReportStatus::Complete)) {
    resume_if_orphaned(status, id);  // as reading it through get_report() does
    throw UserError(
        ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
        "report \"" + std::string(report_id).substr(0, 64) + "\" is " + status + ", not Complete");
  }
  auto put = [&](const std::string* fields) {
    pg_call([&] {
      Datum values[kCsvColumns];
      bool nulls[kCsvColumns] = {};
      for (size_t c = 0; c < kCsvColumns; ++c)
        values[c] = PointerGetDatum(
            cstring_to_text_with_len(fields[c].data(), static_cast<int>(fields[c].size())));
      tuplestore_putvalues(result->setResult, result->setDesc, values, nulls);
      for (size_t c = 0; c < kCsvColumns; ++c) pfree(DatumGetPointer(values[c]));
    });
  };
  if (stored) {
    for (size_t i = 0; i < stored->store_ids.size(); ++i)
      put(csv_fields(stored->store_ids[i], stored->durations[i]).data());
    return Datum(0);
  }
  for (size_t r = 1; r < legacy.size(); ++r) {
    if (legacy[r].size() != kCsvColumns)
      throw UserError(ERRCODE_DATA_CORRUPTED, "CSV: line " + std::to_string(r + 1) + " has " +
                                                  std::to_string(legacy[r].size()) +
                                                  " fields, not 7");
    put(legacy[r].data());
  }
  return Datum(0);
}

}  // namespace
}  // namespace store_monitoring::pg

SM_PG_FUNCTION(store_monitoring_get_report, store_monitoring::pg::get_report)
SM_PG_FUNCTION(store_monitoring_report_status, store_monitoring::pg::report_status)
SM_PG_FUNCTION(store_monitoring_report_rows, store_monitoring::pg::report_rows)
SM_PG_FUNCTION(store_monitoring_report_csv_text, store_monitoring::pg::report_csv_function)
SM_PG_FUNCTION(store_monitoring_wait_report, store_monitoring::pg::wait_report)
SM_PG_FUNCTION(store_monitoring_report_csv, store_monitoring::pg::report_csv_rows)
