// Writing a report's end and the per-role limits (see write.hpp).
#include "pg/store/stored_error.hpp"
#include "pg/store/write.hpp"

#include "pg/common/locks.hpp"
#include "pg/common/settings.hpp"
#include "pg/common/spi.hpp"
#include "pg/store/states.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "utils/timestamp.h"
}

#include <cstdio>
#include <cstring>

namespace store_monitoring::pg {
namespace {

// The NOTIFY payload names the report by the SHA-256 of its id, not the id:
// any role may LISTEN on any channel (PostgreSQL checks no privilege), and
// report ids are shown to no role but the owner's. The owner, who knows the
// id, recognises the digest; others learn only that some report ended.
constexpr const char* kNotifyPayload =
    "pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(report_id, 'UTF8')), 'hex') "
    "OPERATOR(pg_catalog.||) ' ' OPERATOR(pg_catalog.||) status";

void lock_role(uint32 lock_class, Oid role) {
  LOCKTAG tag = advisory_tag(lock_class, role);
  pg_call([&] { (void)LockAcquire(&tag, ExclusiveLock, false, false); });
}

std::string role_name(Oid role) {
  const char* name = pg_call([&] { return GetUserNameFromId(role, true); });
  return name ? std::string(name) : "OID " + std::to_string(role);
}

// Bytes the stored results of `owner`'s reports take (as stored, before
// compression), their errors included, read through the owner's index: the cost follows the
// owner's reports. In the latest snapshot, under the caller's lock.
int64 role_stored_bytes(Oid owner) {
  spi_execute_latest(
      "SELECT COALESCE(sum(COALESCE(pg_catalog.octet_length(o.data), 0) "
      "OPERATOR(pg_catalog.+) COALESCE(pg_catalog.octet_length(r.csv), 0) "
      "OPERATOR(pg_catalog.+) COALESCE(pg_catalog.octet_length(r.error), 0)), "
      "0)::pg_catalog.int8 "
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
  throw UserError(
      ERRCODE_CONFIGURATION_LIMIT_EXCEEDED,
      std::string(what) + ": the reports of role \"" + role_name(owner) + "\" hold " +
          kilobytes(used) + " of results" +
          (adding == 0 ? ", reaching" : "; this report's " + kilobytes(adding) + " would exceed") +
          " store_monitoring.max_stored_per_role (" + std::to_string(limit_kb) + " kB)",
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
           "'%s', finished_at = pg_catalog.clock_timestamp(), store_count = $3, error = NULL, "
           "worker_memory_kb = $4 WHERE report_id OPERATOR(pg_catalog.=) $1 AND status "
           "OPERATOR(pg_catalog.=) $6 "
           "RETURNING report_id, status), "
           "stored AS (INSERT INTO _store_monitoring_internal.report_output (report_id, data) "
           "SELECT report_id, $2 FROM done RETURNING report_id) "
           "SELECT pg_catalog.pg_notify($7, %s) FROM done JOIN stored USING (report_id)",
           phase_text(ReportPhase::done), kNotifyPayload);
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
           "'%s', finished_at = pg_catalog.clock_timestamp(), error = $2 "
           "WHERE report_id OPERATOR(pg_catalog.=) $1 AND status OPERATOR(pg_catalog.=) $4 "
           "RETURNING report_id, status) "
           "SELECT pg_catalog.pg_notify($5, %s) FROM done",
           phase_text(ReportPhase::done), kNotifyPayload);
  return spi_execute(sql,
                     {{TEXTOID, text_datum(report_id)},
                      {TEXTOID, text_datum(stored_error(message))},  // bounded
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
    pg_call([&] {
      elog(DEBUG1, "store_monitoring: store_monitoring.report_retention deleted %llu reports",
           static_cast<unsigned long long>(deleted));
    });
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

}  // namespace store_monitoring::pg
