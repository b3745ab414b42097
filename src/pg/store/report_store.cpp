#include "pg/store/report_store.hpp"

#include "core/report_codec.hpp"
#include "pg/common/extension.hpp"
#include "pg/common/settings.hpp"
#include "pg/worker/progress.hpp"
#include "pg/api/trigger.hpp"
#include "pg/shards/shards.hpp"
#include "pg/common/spi.hpp"
#include "pg/common/locks.hpp"
#include "pg/worker/worker.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
}

#include <algorithm>
#include <array>
#include <string>
#include <vector>

namespace store_monitoring::pg {

namespace {

constexpr std::array<const char*, 3> kStatusText = {"Running", "Complete", "Failed"};

// The NOTIFY payload names the report by the SHA-256 of its id, not the id:
// any role may LISTEN on any channel (PostgreSQL checks no privilege), and
// report ids are shown to no role but the owner's. The owner, who knows the
// id, recognises the digest; others learn only that some report ended.
constexpr const char* kNotifyPayload =
    "pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(report_id, 'UTF8')), 'hex') "
    "OPERATOR(pg_catalog.||) ' ' OPERATOR(pg_catalog.||) status";

constexpr int kMaxLabelBytes = 63;

Datum bytea_datum(std::string_view bytes) {
  return pg_call([&] {
    auto* value = static_cast<bytea*>(palloc(VARHDRSZ + bytes.size()));
    SET_VARSIZE(value, VARHDRSZ + bytes.size());
    memcpy(VARDATA(value), bytes.data(), bytes.size());
    return PointerGetDatum(value);
  });
}

std::string_view detoasted_bytes(Datum value) {
  auto* bytes = pg_call([&] { return reinterpret_cast<varlena*>(PG_DETOAST_DATUM_PACKED(value)); });
  return {VARDATA_ANY(bytes), VARSIZE_ANY_EXHDR(bytes)};
}

// `read` (decode_report or render_csv) of the stored results of a report.
template <typename Read>
auto read_stored(std::string_view report_id, Datum data, Read read) {
  try {
    return read(detoasted_bytes(data));
  } catch (const CorruptReport& error) {
    throw UserError(ERRCODE_DATA_CORRUPTED, "the stored results of report \"" +
                                                std::string(report_id) +
                                                "\" are unreadable: " + error.what());
  }
}

int64 interval_us(const Interval* span) {
  // As PostgreSQL compares intervals: a month is 30 days.
  __int128 total = static_cast<__int128>(span->month) * DAYS_PER_MONTH * USECS_PER_DAY +
                   static_cast<__int128>(span->day) * USECS_PER_DAY + span->time;
  return static_cast<int64>(std::clamp<__int128>(total, PG_INT64_MIN, PG_INT64_MAX));
}

Interval* interval_argument(FunctionCallInfo fcinfo, int arg, const char* name) {
  if (PG_ARGISNULL(arg) || interval_us(PG_GETARG_INTERVAL_P(arg)) < 0)
    throw UserError(ERRCODE_INVALID_PARAMETER_VALUE,
                    std::string(name) + " must be a non-negative interval");
  return PG_GETARG_INTERVAL_P(arg);
}

}  // namespace

std::string text_string(Datum value) {
  return std::string(
      text_bytes(pg_call([&] { return PointerGetDatum(PG_DETOAST_DATUM_PACKED(value)); })));
}

bool may_see(Oid caller, Oid owner) {
  return pg_call([&] { return has_privs_of_role(caller, owner); });
}

namespace {

// The owners whose reports `caller` may see (may_see), as an oid[] for a
// query's `owner = ANY (...)`, so that it reads those owners' rows through
// report_owner_idx alone; NULL (is_null) for a superuser, who sees all. A
// query parameter, so that the planner sees the owners. Needs a SpiScope;
// the value lives until it ends.
Datum visible_owners(Oid caller, bool* is_null) {
  *is_null = pg_call([&] { return superuser_arg(caller); });
  if (*is_null) return Datum(0);
  spi_execute(
      "SELECT pg_catalog.array_agg(oid) FROM pg_catalog.pg_authid "
      "WHERE pg_catalog.pg_has_role($1, oid, 'USAGE')",
      {{OIDOID, ObjectIdGetDatum(caller)}}, true, 1);
  return spi_value(0, 1, is_null);
}

}  // namespace

// ---------------------------------------------------------------------------
// Status

const char* status_text(ReportStatus status) { return kStatusText[static_cast<int>(status)]; }

std::optional<ReportStatus> status_from_text(std::string_view text) {
  for (size_t i = 0; i < kStatusText.size(); ++i)
    if (text == kStatusText[i]) return static_cast<ReportStatus>(i);
  return std::nullopt;
}

std::optional<std::string> label_argument(FunctionCallInfo fcinfo, int arg) {
  if (PG_NARGS() <= arg || PG_ARGISNULL(arg)) return std::nullopt;
  text* label = PG_GETARG_TEXT_PP(arg);
  std::string value(VARDATA_ANY(label), VARSIZE_ANY_EXHDR(label));
  if (value.empty() || value.size() > kMaxLabelBytes)
    throw UserError(ERRCODE_INVALID_PARAMETER_VALUE, "label must be 1 to 63 bytes long");
  return value;
}

// ---------------------------------------------------------------------------
// Per-role limits

namespace {

void lock_role(uint32 lock_class, Oid role) {
  LOCKTAG tag;
  SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, lock_class, role, kLockTagSpace);
  pg_call([&] { (void)LockAcquire(&tag, ExclusiveLock, false, false); });
}

std::string role_name(Oid role) {
  const char* name = pg_call([&] { return GetUserNameFromId(role, true); });
  return name ? std::string(name) : "OID " + std::to_string(role);
}

// Bytes the stored results of `owner`'s reports take (as stored, before
// compression), read through the owner's index: the cost follows the
// owner's reports. In the latest snapshot, under the caller's lock.
int64 role_stored_bytes(Oid owner) {
  spi_execute_latest(
      "SELECT COALESCE(sum(COALESCE(pg_catalog.octet_length(o.data), 0) "
      "OPERATOR(pg_catalog.+) COALESCE(pg_catalog.octet_length(r.csv), 0)), 0)::pg_catalog.int8 "
      "FROM _store_monitoring_internal.report r "
      "LEFT JOIN _store_monitoring_internal.report_output o USING (report_id) "
      "WHERE r.owner OPERATOR(pg_catalog.=) $1",
      {{OIDOID, ObjectIdGetDatum(owner)}});
  bool is_null = false;
  return DatumGetInt64(spi_value(0, 1, &is_null));
}

std::string kilobytes(int64 bytes) { return std::to_string((bytes + 1023) / 1024) + " kB"; }

constexpr const char* kStoredHint =
    "Delete reports no longer needed (delete_report(), purge_reports()), or ask a superuser to "
    "raise store_monitoring.max_stored_per_role.";

// Refuses `adding` more bytes for `owner` beyond max_stored_per_role.
void check_stored(Oid owner, int64 adding, const char* what) {
  int limit_kb = current_settings().max_stored_kb_per_role;
  if (limit_kb <= 0) return;
  int64 limit = static_cast<int64>(limit_kb) * 1024;
  int64 used = role_stored_bytes(owner);
  if (adding == 0 ? used < limit : used + adding <= limit) return;
  throw UserError(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED,
                  std::string(what) + ": the reports of role \"" + role_name(owner) +
                      "\" hold " + kilobytes(used) + " of results" +
                      (adding == 0 ? ", reaching" : "; this report's " + kilobytes(adding) +
                                                        " would exceed") +
                      " store_monitoring.max_stored_per_role (" + std::to_string(limit_kb) +
                      " kB)",
                  kStoredHint);
}

}  // namespace

void check_role_limits(Oid owner) {
  int max_queued = current_settings().max_queued_per_role;
  if (max_queued > 0) {
    // Concurrent triggers of the same role wait here for each other, so
    // that each counts what the previous ones committed.
    lock_role(kQueueLockClass, owner);
    spi_execute_latest(
        "SELECT count(*) FROM _store_monitoring_internal.report "
        "WHERE owner OPERATOR(pg_catalog.=) $1 AND status OPERATOR(pg_catalog.=) 'Running'",
        {{OIDOID, ObjectIdGetDatum(owner)}});
    bool is_null = false;
    int64 running = DatumGetInt64(spi_value(0, 1, &is_null));
    if (running >= max_queued)
      throw UserError(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED,
                      "cannot trigger a report: role \"" + role_name(owner) + "\" has " +
                          std::to_string(running) +
                          " reports Running, the most store_monitoring.max_queued_per_role (" +
                          std::to_string(max_queued) + ") allows",
                      "Wait for some of them to end (wait_report()), or cancel some "
                      "(cancel_report()).");
  }
  check_stored(owner, 0, "cannot trigger a report");
}

// ---------------------------------------------------------------------------
// Writing

void complete_report(std::string_view report_id, std::string& stored, size_t store_count,
                     int64 memory_kb) {
  if (current_settings().max_stored_kb_per_role > 0) {
    uint64 found = spi_execute(
        "SELECT owner FROM _store_monitoring_internal.report WHERE report_id "
        "OPERATOR(pg_catalog.=) $1",
        {{TEXTOID, text_datum(report_id)}}, false, 1);
    if (found != 1)
      throw UserError(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, "the report disappeared");
    bool is_null = false;
    Oid owner = DatumGetObjectId(spi_value(0, 1, &is_null));
    // Until commit: two workers finishing reports of one role count in turn.
    lock_role(kStoredLockClass, owner);
    check_stored(owner, static_cast<int64>(stored.size()), "the report's results were not stored");
  }
  Datum data = bytea_datum(stored);
  std::string().swap(stored);
  char sql[1024];
  snprintf(sql, sizeof(sql),
           "WITH done AS (UPDATE _store_monitoring_internal.report SET status = $5, phase = "
           "'done', finished_at = pg_catalog.clock_timestamp(), store_count = $3, error = NULL, "
           "worker_memory_kb = $4 WHERE report_id OPERATOR(pg_catalog.=) $1 AND status "
           "OPERATOR(pg_catalog.=) $6 "
           "RETURNING report_id, status), "
           "stored AS (INSERT INTO _store_monitoring_internal.report_output (report_id, data) "
           "SELECT report_id, $2 FROM done RETURNING report_id) "
           "SELECT pg_catalog.pg_notify($7, %s) FROM done JOIN stored USING (report_id)",
           kNotifyPayload);
  uint64 done = spi_execute(sql,
                            {{TEXTOID, text_datum(report_id)},
                             {BYTEAOID, data},
                             {INT4OID, Int32GetDatum(static_cast<int32>(store_count))},
                             {INT8OID, Int64GetDatum(memory_kb), memory_kb < 0},
                             {TEXTOID, text_datum(status_text(ReportStatus::Complete))},
                             {TEXTOID, text_datum(status_text(ReportStatus::Running))},
                             {TEXTOID, text_datum(kReportChannel)}},
                            false);
  if (done != 1)
    throw UserError(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, "the report disappeared");
}

bool fail_report(std::string_view report_id, std::string_view message) {
  char sql[1024];
  snprintf(sql, sizeof(sql),
           "WITH done AS (UPDATE _store_monitoring_internal.report SET status = $3, phase = "
           "'done', finished_at = pg_catalog.clock_timestamp(), error = $2 "
           "WHERE report_id OPERATOR(pg_catalog.=) $1 AND status OPERATOR(pg_catalog.=) $4 "
           "RETURNING report_id, status) "
           "SELECT pg_catalog.pg_notify($5, %s) FROM done",
           kNotifyPayload);
  return spi_execute(sql,
                     {{TEXTOID, text_datum(report_id)},
                      {TEXTOID, text_datum(message)},
                      {TEXTOID, text_datum(status_text(ReportStatus::Failed))},
                      {TEXTOID, text_datum(status_text(ReportStatus::Running))},
                      {TEXTOID, text_datum(kReportChannel)}},
                     false) > 0;
}

void apply_report_retention() {
  int64 retention = current_settings().report_retention_us;
  if (retention <= 0) return;
  TimestampTz cutoff = GetCurrentTimestamp() - retention;
  uint64 deleted = spi_execute(
      "DELETE FROM _store_monitoring_internal.report WHERE status OPERATOR(pg_catalog.<>) $1 AND "
      "finished_at OPERATOR(pg_catalog.<) $2",
      {{TEXTOID, text_datum(status_text(ReportStatus::Running))},
       {TIMESTAMPTZOID, TimestampTzGetDatum(cutoff)}},
      false);
  if (deleted > 0)
    elog(DEBUG1, "store_monitoring: store_monitoring.report_retention deleted %llu reports",
         static_cast<unsigned long long>(deleted));
}

void wake_report_waiters(uint32 lock_key) noexcept {
  // Bare PostgreSQL calls: GetLockStatusData and BackendPidGetProc raise no
  // error short of out-of-memory (then FATAL in a worker anyway), SetLatch none.
  LockData* locks = GetLockStatusData();
  for (int i = 0; i < locks->nelements; ++i) {
    const LockInstanceData& lock = locks->locks[i];
    const LOCKTAG& tag = lock.locktag;
    if (tag.locktag_type != LOCKTAG_ADVISORY || tag.locktag_field1 != MyDatabaseId ||
        tag.locktag_field2 != kWaitLockClass || tag.locktag_field3 != lock_key ||
        tag.locktag_field4 != kLockTagSpace || (lock.holdMask & LOCKBIT_ON(ShareLock)) == 0)
      continue;
    PGPROC* proc = BackendPidGetProc(lock.pid);
    if (proc != nullptr) SetLatch(&proc->procLatch);
  }
}

// ---------------------------------------------------------------------------
// Reading

constexpr int kShownIdCharacters = 64;

std::string shown_id(text* id) {
  const char* data = VARDATA_ANY(id);
  int length = VARSIZE_ANY_EXHDR(id);
  int clipped = pg_call([&] { return pg_mbcharcliplen(data, length, kShownIdCharacters); });
  std::string shown(data, clipped);
  if (clipped < length) shown += "...";
  return shown;
}

void report_does_not_exist(text* id) {
  throw UserError(ERRCODE_UNDEFINED_OBJECT, "report \"" + shown_id(id) + "\" does not exist",
                  "Use the id that trigger_report() returned, as the role that triggered it.");
}

text* report_id_argument(FunctionCallInfo fcinfo) {
  if (PG_ARGISNULL(0))
    throw UserError(ERRCODE_NULL_VALUE_NOT_ALLOWED, "report_id must not be NULL");
  return PG_GETARG_TEXT_PP(0);
}

void find_visible_report(const char* sql, text* id, Oid caller) {
  uint64 found = spi_execute(sql, {{TEXTOID, PointerGetDatum(id)}}, true, 1);
  if (found == 0) report_does_not_exist(id);
  bool is_null = false;
  Oid owner = DatumGetObjectId(spi_value(0, 1, &is_null));
  if (!may_see(caller, owner)) report_does_not_exist(id);
}

std::optional<std::string> report_csv(std::string_view report_id) {
  SpiScope spi;
  uint64 found = spi_execute(
      "SELECT r.status, o.data, r.csv FROM _store_monitoring_internal.report r "
      "LEFT JOIN _store_monitoring_internal.report_output o USING (report_id) "
      "WHERE r.report_id OPERATOR(pg_catalog.=) $1",
      {{TEXTOID, text_datum(report_id)}}, true, 1);
  if (found == 0) return std::nullopt;
  bool is_null = false;
  if (text_string(spi_value(0, 1, &is_null)) != status_text(ReportStatus::Complete))
    return std::nullopt;
  Datum data = spi_value(0, 2, &is_null);
  if (!is_null)
    return read_stored(report_id, data, [](std::string_view bytes) { return render_csv(bytes); });
  // Computed by version 1.0: its CSV was stored as text.
  Datum legacy = spi_value(0, 3, &is_null);
  if (is_null) return std::nullopt;
  return text_string(legacy);
}

namespace {

constexpr int kRowColumns = 10;

Datum report_rows(FunctionCallInfo fcinfo) {
  text* id = report_id_argument(fcinfo);
  std::string_view report_id(VARDATA_ANY(id), VARSIZE_ANY_EXHDR(id));
  Oid caller = GetUserId();  // before SpiScope acts as the table owner
  pg_call([&] { InitMaterializedSRF(fcinfo, 0); });
  auto* result = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  SpiScope spi;
  find_visible_report(
      "SELECT r.owner, r.status, o.data FROM _store_monitoring_internal.report r "
      "LEFT JOIN _store_monitoring_internal.report_output o USING (report_id) "
      "WHERE r.report_id OPERATOR(pg_catalog.=) $1",
      id, caller);
  bool is_null = false;
  std::string status = text_string(spi_value(0, 2, &is_null));
  if (status != status_text(ReportStatus::Complete))
    throw UserError(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                    "report \"" + shown_id(id) + "\" is " + status + ", not Complete");
  Datum data = spi_value(0, 3, &is_null);
  if (!is_null) {
    StoredReport report =
        read_stored(report_id, data, [](std::string_view bytes) { return decode_report(bytes); });
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
  Oid caller = GetUserId();  // before SpiScope acts as the table owner
  {
    SpiScope spi;
    find_visible_report(
        "SELECT r.owner FROM _store_monitoring_internal.report r WHERE r.report_id "
        "OPERATOR(pg_catalog.=) $1",
        id, caller);
  }
  std::optional<std::string> csv =
      report_csv(std::string_view(VARDATA_ANY(id), VARSIZE_ANY_EXHDR(id)));
  if (!csv) {
    fcinfo->isnull = true;
    return Datum(0);
  }
  return text_datum(*csv);
}

// stores_done and stores_total of a report row: 0 and NULL while queued;
// the worker's shared counters while it computes (NULL when it has none);
// the store count once Complete; NULL when Failed. Runs inside pg_call.
void set_progress_columns(HeapTuple tuple, TupleDesc desc, int handle_column, const Datum* values,
                          const bool* nulls, Datum* progress, bool* progress_null) {
  std::string_view status = text_bytes(values[1]);
  bool queued = status == "Running" && text_bytes(values[2]) == "queued";
  progress_null[0] = progress_null[1] = true;
  if (status == "Complete" && !nulls[11]) {
    progress[0] = progress[1] = Int64GetDatum(DatumGetInt32(values[11]));
    progress_null[0] = progress_null[1] = false;
  } else if (queued) {
    progress[0] = Int64GetDatum(0);
    progress_null[0] = false;
  } else if (status == "Running") {
    bool handle_null = false;
    Datum handle = SPI_getbinval(tuple, desc, handle_column, &handle_null);
    std::optional<ProgressCount> count;
    if (!handle_null)
      count = read_progress(DatumGetInt64(handle), std::string(text_bytes(values[0])));
    if (count) {
      progress[0] = Int64GetDatum(static_cast<int64>(count->stores_done));
      progress[1] = Int64GetDatum(static_cast<int64>(count->stores_total));
      progress_null[0] = progress_null[1] = false;
    }
  }
}

// list_reports' columns: those read from the table (the owner's oid, the
// label and the progress handle follow them), then waiting_for (computed
// here), the label, and stores_done and stores_total (from the worker's
// shared progress while it computes).
constexpr int kListStored = 16;  // report_id .. sources
constexpr int kListColumns = kListStored + 4;
constexpr int kListAhead = kListStored + 4;  // the query's column of earlier queued reports

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
  pg_call([&] { InitMaterializedSRF(fcinfo, 0); });
  auto* result = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  if (limit == 0) return Datum(0);
  SpiScope spi;
  bool all_owners = false;
  Datum owners = visible_owners(caller, &all_owners);
  uint64 rows = spi_execute(
      "SELECT report_id::text, status, phase, as_of, report_time, max_extrapolation, "
      "interpolation, requested_at, started_at, finished_at, attempts, store_count, "
      "worker_memory_kb, error, owner::regrole, sources, label, owner, progress_handle, "
      // A queued report's earlier queued reports of the same owner: with
      // the claims in turn, what it waits for beyond a free worker.
      "CASE WHEN phase OPERATOR(pg_catalog.=) 'queued' THEN (SELECT pg_catalog.count(*) "
      "FROM _store_monitoring_internal.report q WHERE q.owner OPERATOR(pg_catalog.=) r.owner "
      "AND q.status OPERATOR(pg_catalog.=) 'Running' AND q.phase OPERATOR(pg_catalog.=) 'queued' "
      "AND (q.requested_at OPERATOR(pg_catalog.<) r.requested_at "
      "OR (q.requested_at OPERATOR(pg_catalog.=) r.requested_at "
      "AND q.lock_key OPERATOR(pg_catalog.<) r.lock_key))) END "
      "FROM _store_monitoring_internal.report r "
      "WHERE ($1::text IS NULL OR status OPERATOR(pg_catalog.=) $1) AND ($2::timestamptz IS NULL "
      "OR requested_at OPERATOR(pg_catalog.>=) $2) "
      "AND ($3::text IS NULL OR label OPERATOR(pg_catalog.=) $3) "
      "AND ($4::oid[] IS NULL OR owner OPERATOR(pg_catalog.=) ANY ($4)) "
      "ORDER BY requested_at DESC, lock_key DESC",
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
    Datum row_status =
        pg_call([&] { return SPI_getbinval(reports->vals[i], reports->tupdesc, 2, &is_null); });
    Datum ahead = pg_call(
        [&] { return SPI_getbinval(reports->vals[i], reports->tupdesc, kListAhead, &ahead_null); });
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
          DatumGetObjectId(SPI_getbinval(tuple, reports->tupdesc, kListStored + 2, &owner_null));
      if (!has_privs_of_role(caller, owner)) continue;
      for (int column = 0; column < kListStored; ++column)
        values[column] = SPI_getbinval(tuple, reports->tupdesc, column + 1, &nulls[column]);
      // Only a report still in the queue waits for a worker.
      values[kListStored] = waiting_for[i];
      nulls[kListStored] = waiting_for[i] == 0;
      values[kListStored + 1] =
          SPI_getbinval(tuple, reports->tupdesc, kListStored + 1, &nulls[kListStored + 1]);
      set_progress_columns(tuple, reports->tupdesc, kListStored + 3, values, nulls,
                           values + kListStored + 2, nulls + kListStored + 2);
      tuplestore_putvalues(result->setResult, desc, values, nulls);
      ++emitted;
    }
  });
  return Datum(0);
}

// delete_report(id): the report and its results, in one statement.
Datum delete_report(FunctionCallInfo fcinfo) {
  text* id = report_id_argument(fcinfo);
  Oid caller = GetUserId();  // before SpiScope acts as the table owner
  SpiScope spi;
  find_visible_report(
      "SELECT r.owner, r.status FROM _store_monitoring_internal.report r WHERE r.report_id "
      "OPERATOR(pg_catalog.=) $1",
      id, caller);
  bool is_null = false;
  if (text_string(spi_value(0, 2, &is_null)) == status_text(ReportStatus::Running))
    throw UserError(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                    "report \"" + shown_id(id) + "\" is Running and cannot be deleted",
                    "Wait for it to end (wait_report()), then delete it.");
  // A coordinator's report: first the reports it started on the shards
  // (their deletes commit there at once), with a WARNING for each shard
  // that cannot be reached; the local delete goes on regardless.
  Oid owner = DatumGetObjectId(spi_value(0, 1, &is_null));
  delete_shard_reports(std::string_view(VARDATA_ANY(id), VARSIZE_ANY_EXHDR(id)), owner);
  // The foreign keys of report_output, report_result and shard_report cascade.
  uint64 deleted = spi_execute(
      "DELETE FROM _store_monitoring_internal.report WHERE report_id OPERATOR(pg_catalog.=) $1 AND "
      "status OPERATOR(pg_catalog.<>) $2",
      {{TEXTOID, PointerGetDatum(id)}, {TEXTOID, text_datum(status_text(ReportStatus::Running))}},
      false);
  if (deleted != 1) report_does_not_exist(id);  // deleted meanwhile by another session
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

WaitState read_wait_state(text* id, Oid caller) {
  SpiScope spi;
  // Not read-only: in READ COMMITTED each statement takes a new snapshot, so
  // every re-check sees the worker's commit.
  uint64 found = spi_execute(
      "SELECT r.owner, r.status, r.lock_key FROM _store_monitoring_internal.report r "
      "WHERE r.report_id OPERATOR(pg_catalog.=) $1",
      {{TEXTOID, PointerGetDatum(id)}}, false, 1);
  if (found == 0) report_does_not_exist(id);
  bool is_null = false;
  if (!may_see(caller, DatumGetObjectId(spi_value(0, 1, &is_null)))) report_does_not_exist(id);
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
  Oid caller = GetUserId();
  WaitState state = read_wait_state(id, caller);
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

  LOCKTAG tag;
  // In the extension's private tag space (locks.hpp): no SQL caller can
  // take or block it. Transaction level: released by the end of this call,
  // or by the abort of an error or a cancel.
  SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, kWaitLockClass, state.lock_key, kLockTagSpace);
  bool registered =
      pg_call([&] { return LockAcquire(&tag, ShareLock, false, true); }) != LOCKACQUIRE_NOT_AVAIL;
  TimestampTz deadline = GetCurrentTimestamp();
  deadline = timeout_us > PG_INT64_MAX - deadline ? PG_INT64_MAX : deadline + timeout_us;
  TimestampTz next_resume = GetCurrentTimestamp();
  for (;;) {
    pg_call([] { ResetLatch(MyLatch); });
    state = read_wait_state(id, caller);
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

}  // namespace
}  // namespace store_monitoring::pg

SM_PG_FUNCTION(store_monitoring_report_csv_text, store_monitoring::pg::report_csv_function)
SM_PG_FUNCTION(store_monitoring_report_rows, store_monitoring::pg::report_rows)
SM_PG_FUNCTION(store_monitoring_list_reports, store_monitoring::pg::list_reports)
SM_PG_FUNCTION(store_monitoring_delete_report, store_monitoring::pg::delete_report)
SM_PG_FUNCTION(store_monitoring_purge_reports, store_monitoring::pg::purge_reports)
SM_PG_FUNCTION(store_monitoring_latest_report, store_monitoring::pg::latest_report)
SM_PG_FUNCTION(store_monitoring_wait_report, store_monitoring::pg::wait_report)
