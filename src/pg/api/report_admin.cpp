// Managing reports: list_reports, delete_report, purge_reports,
// latest_report and cancel_report. Each reads the report table as its owner
// and acts only on reports the caller may see (store/visibility.hpp).
#include "pg/common/datum.hpp"
#include "pg/common/extension.hpp"
#include "pg/common/locks.hpp"
#include "pg/common/pg_boundary.hpp"
#include "pg/common/spi.hpp"
#include "pg/shards/cleanup.hpp"
#include "pg/store/states.hpp"
#include "pg/store/visibility.hpp"
#include "pg/store/write.hpp"
#include "pg/worker/progress.hpp"
#include "pg/worker/worker.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
}

#include <optional>
#include <string>
#include <vector>

namespace store_monitoring::pg {
namespace {

Interval* interval_argument(FunctionCallInfo fcinfo, int arg, const char* name) {
  if (PG_ARGISNULL(arg) || interval_us(PG_GETARG_INTERVAL_P(arg)) < 0)
    throw UserError(ERRCODE_INVALID_PARAMETER_VALUE,
                    std::string(name) + " must be a non-negative interval");
  return PG_GETARG_INTERVAL_P(arg);
}

// list_reports' columns: those read from the table, then waiting_for
// (computed here), the label, and stores_done and stores_total (from the
// worker's shared progress while it computes).
constexpr int kListStored = 16;  // report_id .. sources
constexpr int kListColumns = kListStored + 4;
constexpr int kListWaitingFor = kListStored;
constexpr int kListLabel = kListStored + 1;
constexpr int kListProgress = kListStored + 2;  // stores_done, then stores_total

// Its query's columns (SPI's 1-based numbers): the kListStored ones first,
// the label, the owner's oid, the progress handle and the count of earlier
// queued reports after them.
namespace list_query {
constexpr int kReportId = 1;
constexpr int kStatus = 2;
constexpr int kPhase = 3;
constexpr int kStoreCount = 12;
constexpr int kLabel = kListStored + 1;
constexpr int kOwner = kListStored + 2;
constexpr int kProgressHandle = kListStored + 3;
constexpr int kAhead = kListStored + 4;
}  // namespace list_query

// stores_done and stores_total of a report row: 0 and NULL while queued;
// the worker's shared counters while it computes (NULL when it has none);
// the store count once Complete; NULL when Failed. Runs inside pg_call.
// `values` and `nulls` are the query's first kListStored columns (0-based).
void set_progress_columns(HeapTuple tuple, TupleDesc desc, const Datum* values, const bool* nulls,
                          Datum* progress, bool* progress_null) {
  using namespace list_query;
  std::string_view status = text_bytes(values[kStatus - 1]);
  const bool running = status == status_text(ReportStatus::Running);
  bool queued = running && text_bytes(values[kPhase - 1]) == phase_text(ReportPhase::queued);
  progress_null[0] = progress_null[1] = true;
  if (status == status_text(ReportStatus::Complete) && !nulls[kStoreCount - 1]) {
    progress[0] = progress[1] = Int64GetDatum(DatumGetInt32(values[kStoreCount - 1]));
    progress_null[0] = progress_null[1] = false;
  } else if (queued) {
    progress[0] = Int64GetDatum(0);
    progress_null[0] = false;
  } else if (running) {
    bool handle_null = false;
    Datum handle = SPI_getbinval(tuple, desc, kProgressHandle, &handle_null);
    std::optional<ProgressCount> count;
    if (!handle_null)
      count = read_progress(DatumGetInt64(handle), std::string(text_bytes(values[kReportId - 1])));
    if (count) {
      progress[0] = Int64GetDatum(static_cast<int64>(count->stores_done));
      progress[1] = Int64GetDatum(static_cast<int64>(count->stores_total));
      progress_null[0] = progress_null[1] = false;
    }
  }
}

// list_reports(status, since, label, limit): newest first.
Datum list_reports(FunctionCallInfo fcinfo) {
  require_current_extension_version();  // 1.0's list_reports() had no arguments
  Oid caller = GetUserId();
  Datum status = PG_ARGISNULL(0) ? Datum(0) : PG_GETARG_DATUM(0);
  if (!PG_ARGISNULL(0) && !status_from_text(text_string(status)))
    throw UserError(
        ERRCODE_INVALID_PARAMETER_VALUE,
        "status must be Running, Complete or Failed, not \"" + text_string(status) + "\"");
  if (!PG_ARGISNULL(3) && PG_GETARG_INT32(3) < 0)
    throw UserError(ERRCODE_INVALID_PARAMETER_VALUE, "limit must not be negative");
  int64 limit = PG_ARGISNULL(3) ? -1 : PG_GETARG_INT32(3);
  ReturnSetInfo* result = materialized_rows(fcinfo);
  if (limit == 0) return Datum(0);
  SpiScope spi;
  bool all_owners = false;
  Datum owners = visible_owners(caller, &all_owners);
  // The phase literal from the one mapping; the rest is constant.
  char sql[2048];
  snprintf(
      sql, sizeof(sql),
      "SELECT report_id::text, status, phase, as_of, report_time, max_extrapolation, "
      "interpolation, requested_at, started_at, finished_at, attempts, store_count, "
      "worker_memory_kb, error, owner::regrole, sources, label, owner, progress_handle, "
      // A queued report's earlier queued reports of the same owner: with
      // the claims in turn, what it waits for beyond a free worker.
      "CASE WHEN phase OPERATOR(pg_catalog.=) '%s' THEN (SELECT pg_catalog.count(*) "
      "FROM _store_monitoring_internal.report q WHERE q.owner OPERATOR(pg_catalog.=) r.owner "
      "AND q.status OPERATOR(pg_catalog.=) '%s' AND q.phase OPERATOR(pg_catalog.=) '%s' "
      "AND (q.requested_at OPERATOR(pg_catalog.<) r.requested_at "
      "OR (q.requested_at OPERATOR(pg_catalog.=) r.requested_at "
      "AND q.lock_key OPERATOR(pg_catalog.<) r.lock_key))) END "
      "FROM _store_monitoring_internal.report r "
      "WHERE ($1::text IS NULL OR status OPERATOR(pg_catalog.=) $1) AND ($2::timestamptz IS NULL "
      "OR requested_at OPERATOR(pg_catalog.>=) $2) "
      "AND ($3::text IS NULL OR label OPERATOR(pg_catalog.=) $3) "
      "AND ($4::oid[] IS NULL OR owner OPERATOR(pg_catalog.=) ANY ($4)) "
      "ORDER BY requested_at DESC, lock_key DESC",
      phase_text(ReportPhase::queued), status_text(ReportStatus::Running),
      phase_text(ReportPhase::queued));
  uint64 rows = spi_execute(
      sql,
      {{TEXTOID, status, PG_ARGISNULL(0)},
       {TIMESTAMPTZOID, PG_ARGISNULL(1) ? Datum(0) : PG_GETARG_DATUM(1), PG_ARGISNULL(1)},
       {TEXTOID, PG_ARGISNULL(2) ? Datum(0) : PG_GETARG_DATUM(2), PG_ARGISNULL(2)},
       {OIDARRAYOID, owners, all_owners}},
      true, limit > 0 ? limit : 0);
  // Why queued reports wait: whether a worker is free (computed once, only
  // when a report is Running), then how many of its owner's reports are
  // queued before it. Nothing about other roles' reports but that bit.
  SPITupleTable* reports = SPI_tuptable;
  std::optional<std::string> reason;
  std::vector<Datum> waiting_for(rows, Datum(0));
  for (uint64 i = 0; i < rows; ++i) {
    bool is_null = false;
    bool ahead_null = true;
    Datum row_status = pg_call([&] {
      return SPI_getbinval(reports->vals[i], reports->tupdesc, list_query::kStatus, &is_null);
    });
    Datum ahead = pg_call([&] {
      return SPI_getbinval(reports->vals[i], reports->tupdesc, list_query::kAhead, &ahead_null);
    });
    if (text_bytes(row_status) != status_text(ReportStatus::Running) || ahead_null) continue;
    if (!reason) reason = queued_reason();
    int64 earlier = DatumGetInt64(ahead);
    waiting_for[i] = text_datum(
        earlier == 0 ? *reason
                     : *reason + "; " + std::to_string(earlier) +
                           " earlier reports of its owner are queued before it (the workers "
                           "serve the roles in turn)");
  }
  pg_call([&] {
    TupleDesc desc = result->setDesc;
    Datum values[kListColumns];
    bool nulls[kListColumns];
    int64 emitted = 0;
    for (uint64 i = 0; i < rows && emitted != limit; ++i) {
      HeapTuple tuple = reports->vals[i];
      bool owner_null = false;
      Oid owner =
          DatumGetObjectId(SPI_getbinval(tuple, reports->tupdesc, list_query::kOwner, &owner_null));
      if (!has_privs_of_role(caller, owner)) continue;
      for (int column = 0; column < kListStored; ++column)
        values[column] = SPI_getbinval(tuple, reports->tupdesc, column + 1, &nulls[column]);
      // Only a report still in the queue waits for a worker.
      values[kListWaitingFor] = waiting_for[i];
      nulls[kListWaitingFor] = waiting_for[i] == 0;
      values[kListLabel] =
          SPI_getbinval(tuple, reports->tupdesc, list_query::kLabel, &nulls[kListLabel]);
      set_progress_columns(tuple, reports->tupdesc, values, nulls, values + kListProgress,
                           nulls + kListProgress);
      tuplestore_putvalues(result->setResult, desc, values, nulls);
      ++emitted;
    }
  });
  return Datum(0);
}

// delete_report(id): the report and its results, in one statement.
Datum delete_report(FunctionCallInfo fcinfo) {
  text* id = report_id_argument(fcinfo);
  VisibleReport report(report_row_sql("r.owner, r.status"), id);
  bool is_null = false;
  if (text_string(spi_value(0, 2, &is_null)) == status_text(ReportStatus::Running))
    throw UserError(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                    "report \"" + shown_id(id) + "\" is Running and cannot be deleted",
                    "Wait for it to end (wait_report()), then delete it.");
  // The foreign keys of report_output, report_result and shard_report
  // cascade; a coordinator's recorded shard reports are noted for cleanup
  // (the trigger note_shard_cleanup).
  uint64 deleted = spi_execute(
      "DELETE FROM _store_monitoring_internal.report WHERE report_id OPERATOR(pg_catalog.=) $1 AND "
      "status OPERATOR(pg_catalog.<>) $2",
      {{TEXTOID, PointerGetDatum(id)}, {TEXTOID, text_datum(status_text(ReportStatus::Running))}},
      false);
  if (deleted != 1) report_does_not_exist(id);  // deleted meanwhile by another session
  // A coordinator's report: then the reports it started on the shards, as
  // its owner's user mapping (their deletes commit there at once), with a
  // WARNING for each shard that cannot be reached, whose report a worker
  // deletes later.
  clean_up_shard_reports(std::string_view(VARDATA_ANY(id), VARSIZE_ANY_EXHDR(id)));
  return Datum(0);
}

// purge_reports(older_than): the caller's finished reports (those of every
// role whose privileges it has; all for a superuser) that finished more than
// older_than ago.
Datum purge_reports(FunctionCallInfo fcinfo) {
  Interval* older_than = interval_argument(fcinfo, 0, "older_than");
  TimestampTz cutoff = DatumGetTimestampTz(pg_call([&] {
    return DirectFunctionCall2(timestamptz_mi_interval,
                               TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()),
                               IntervalPGetDatum(older_than));
  }));
  Oid caller = GetUserId();
  SpiScope spi;
  uint64 deleted = spi_execute(
      "DELETE FROM _store_monitoring_internal.report WHERE status OPERATOR(pg_catalog.<>) $1 AND "
      "finished_at OPERATOR(pg_catalog.<) $2 "
      "AND pg_catalog.pg_has_role($3, owner, 'USAGE')",
      {{TEXTOID, text_datum(status_text(ReportStatus::Running))},
       {TIMESTAMPTZOID, TimestampTzGetDatum(cutoff)},
       {OIDOID, ObjectIdGetDatum(caller)}},
      false);
  return Int64GetDatum(static_cast<int64>(deleted));
}

// latest_report(label): the newest Complete report of that label the caller
// may see, or NULL.
Datum latest_report(FunctionCallInfo fcinfo) {
  if (PG_ARGISNULL(0)) throw UserError(ERRCODE_NULL_VALUE_NOT_ALLOWED, "label must not be NULL");
  Oid caller = GetUserId();
  std::optional<std::string> latest;
  {
    SpiScope spi;
    bool all_owners = false;
    Datum owners = visible_owners(caller, &all_owners);
    uint64 rows = spi_execute(
        "SELECT owner, report_id::text FROM _store_monitoring_internal.report "
        "WHERE label OPERATOR(pg_catalog.=) $1 AND status OPERATOR(pg_catalog.=) $2 "
        "AND ($3::oid[] IS NULL OR owner OPERATOR(pg_catalog.=) ANY ($3)) "
        "ORDER BY requested_at DESC, lock_key DESC",
        {{TEXTOID, PG_GETARG_DATUM(0)},
         {TEXTOID, text_datum(status_text(ReportStatus::Complete))},
         {OIDARRAYOID, owners, all_owners}},
        true, 1);
    bool is_null = false;
    for (uint64 i = 0; i < rows && !latest; ++i)
      if (may_see(caller, DatumGetObjectId(spi_value(i, 1, &is_null))))
        latest = text_string(spi_value(i, 2, &is_null));
  }
  if (!latest) {
    fcinfo->isnull = true;
    return Datum(0);
  }
  return text_datum(*latest);  // after SpiScope: in the caller's memory context
}

constexpr int kCancelAttempts = 500;  // 10 ms apart: a claim commits well within 5 s

// Ends a Running report Failed with "canceled by <current role>": directly
// when no worker holds it (queued, or its worker died), else through the
// worker's segment (the worker then fails it and does not retry).
void cancel_report(FunctionCallInfo fcinfo) {
  text* id_text = report_id_argument(fcinfo);
  const std::string id(VARDATA_ANY(id_text), VARSIZE_ANY_EXHDR(id_text));
  const Oid caller = GetUserId();
  const std::string message =
      std::string("canceled by ") + pg_call([&] { return GetUserNameFromId(caller, false); });
  for (int attempt = 0; attempt < kCancelAttempts; ++attempt) {
    {
      // Each statement sees what committed before it (a new snapshot).
      VisibleReport report(
          report_row_sql("r.owner, r.status, r.lock_key, r.progress_handle, r.worker_pid"), id_text,
          false);
      bool is_null = false;
      std::string status = text_string(spi_value(0, 2, &is_null));
      if (status != status_text(ReportStatus::Running))
        throw UserError(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                        "report \"" + shown_id(id_text) + "\" is " + status + ", not Running");
      int64 lock_key = DatumGetInt64(spi_value(0, 3, &is_null));
      Datum handle = spi_value(0, 4, &is_null);
      int64 segment = is_null ? 0 : DatumGetInt64(handle);
      Datum pid_datum = spi_value(0, 5, &is_null);
      int pid = is_null ? 0 : DatumGetInt32(pid_datum);

      // No worker holds the report while we hold its lock (until our
      // transaction ends): fail it here. A worker that claims it afterwards
      // re-reads it under the lock and finds it Failed.
      // The worker's own lock tag (no SQL function reaches it); released
      // when this transaction ends.
      LOCKTAG tag = advisory_tag(kReportLockClass, static_cast<uint32>(lock_key));
      bool locked = pg_call(
          [&] { return LockAcquire(&tag, ExclusiveLock, false, true) != LOCKACQUIRE_NOT_AVAIL; });
      if (locked) {
        // fail_report (store/write.cpp) also announces the end (NOTIFY).
        // It changes nothing when the report ended between the read above
        // and the lock: read it again, to say how it ended.
        if (!fail_report(id, message)) continue;
        // A coordinator report whose worker died may have started reports
        // on its shards: delete them as its worker would have.
        clean_up_shard_reports(id);
        return;
      }
      bool asked = request_cancel(segment, id, caller);
      if (asked) {
        // Wake it if it sleeps (a testing pause); it checks between steps.
        pg_call([&] {
          PGPROC* proc = pid != 0 ? BackendPidGetProc(pid) : nullptr;
          if (proc != nullptr) SetLatch(&proc->procLatch);
        });
        return;
      }
    }
    // A worker holds the lock but has not committed its claim yet.
    pg_call([] {
      pg_usleep(10000L);
      CHECK_FOR_INTERRUPTS();
    });
  }
  throw UserError(ERRCODE_LOCK_NOT_AVAILABLE,
                  "could not reach the worker of report \"" + shown_id(id_text) + "\"",
                  "Try again.");
}

}  // namespace
}  // namespace store_monitoring::pg

SM_PG_FUNCTION(store_monitoring_list_reports, store_monitoring::pg::list_reports)
SM_PG_FUNCTION(store_monitoring_delete_report, store_monitoring::pg::delete_report)
SM_PG_FUNCTION(store_monitoring_purge_reports, store_monitoring::pg::purge_reports)
SM_PG_FUNCTION(store_monitoring_latest_report, store_monitoring::pg::latest_report)
SM_PG_FUNCTION(store_monitoring_cancel_report, [](FunctionCallInfo fcinfo) {
  store_monitoring::pg::cancel_report(fcinfo);
  return Datum(0);
})
