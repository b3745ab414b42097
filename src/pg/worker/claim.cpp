// Claiming reports (see claim.hpp). The locks live for the life of the
// worker's claim (session level: they survive transaction ends and vanish
// with the process), in the tag space of locks.hpp.
#include "pg/store/stored_error.hpp"
#include "pg/worker/claim.hpp"

#include "pg/common/locks.hpp"
#include "pg/common/pg_boundary.hpp"
#include "pg/common/spi.hpp"
#include "pg/store/states.hpp"
#include "pg/store/write.hpp"
#include "pg/worker/progress.hpp"
#include "pg/worker/transaction.hpp"
#include "pg/worker/worker.hpp"

extern "C" {
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
}

#include <cstdio>
#include <utility>
#include <vector>

namespace store_monitoring::pg {
namespace {

LOCKTAG lock_tag(uint32 lock_class, uint32 key) {
  LOCKTAG tag;
  SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, lock_class, key, kLockTagSpace);
  return tag;
}

// A write that keeps failing is logged once: at WARNING when it is new (the
// report's row did not say so already) and this worker has not warned yet,
// at DEBUG1 on every later try, by this worker or the next.
void log_trouble(const std::string& message, bool is_new) {
  static bool warned = false;
  int level = is_new && !warned ? WARNING : DEBUG1;
  warned = warned || level == WARNING;
  pg_call([&] { ereport(level, (errmsg("%s", message.c_str()))); });
}

// Where the report row can still be written, says why the worker could not
// finish it (list_reports() and get_report() show the error; the report
// stays Running and is retried). True when that is news: the row said
// something else, or could not be written.
bool note_trouble(const std::string& report_id, const std::string& note) {
  bool changed = true;
  (void)in_transaction([&] {
    changed = spi_execute(
                  "UPDATE _store_monitoring_internal.report SET error = $2 "
                  "WHERE report_id OPERATOR(pg_catalog.=) $1 AND status OPERATOR(pg_catalog.=) "
                  "'Running' AND error IS DISTINCT FROM $2",
                  {{TEXTOID, text_datum(report_id)}, {TEXTOID, text_datum(stored_error(note))}},
                  false) > 0;
  });
  return changed;
}

}  // namespace

bool try_lock(uint32 lock_class, uint32 key) {
  LOCKTAG tag = lock_tag(lock_class, key);
  return pg_call([&] { return LockAcquire(&tag, ExclusiveLock, true, true); }) !=
         LOCKACQUIRE_NOT_AVAIL;
}

void unlock(uint32 lock_class, uint32 key) {
  LOCKTAG tag = lock_tag(lock_class, key);
  pg_call([&] { LockRelease(&tag, ExclusiveLock, true); });
}

std::optional<int> acquire_slot() {
  int slots = current_settings().max_workers;
  for (int slot = 0; slot < slots; ++slot)
    if (try_lock(kSlotLockClass, static_cast<uint32>(slot))) return slot;
  return std::nullopt;
}

// False when the report could not be marked (it stays Running).
bool mark_failed(const std::string& report_id, const std::string& message) {
  // fail_report (store/write.cpp) also announces the end (NOTIFY).
  TransactionResult result = in_transaction([&] { (void)fail_report(report_id, message); });
  if (result.ok) return true;
  bool is_new = note_trouble(
      report_id, "could not be marked Failed (" + result.message + ") after: " + message);
  log_trouble(
      "store_monitoring could not mark report \"" + report_id + "\" failed: " + result.error,
      is_new);
  return false;
}

// Claims a Running report nobody holds, in a committed transaction (so
// attempts counts runs that were interrupted). Fair across roles: each
// report's turn is its rank among its owner's Running reports (those being
// computed first, as the oldest), so the workers serve the roles round-robin
// and a role with a long queue delays another role's report by at most one
// report per worker. Within a turn the oldest goes first.
ClaimResult claim_next_report() {
  ClaimResult outcome;
  struct Exhausted {
    std::string report_id;
    uint32 lock_key;
    std::string message;
  };
  std::vector<Exhausted> exhausted;
  std::vector<uint32> locked;  // report locks taken in the transaction and kept
  std::string claiming;        // the report being claimed when an error struck
  int max_attempts = current_settings().max_attempts;
  TransactionResult result = in_transaction([&] {
    // Only workers hold report locks, at most one each (max_workers <= 64),
    // so the first 100 Running reports include any that nobody holds. The
    // Running reports are few (store_monitoring.max_queued_per_role per role)
    // and read through their partial index.
    uint64 count = spi_execute(
        "SELECT report_id, lock_key FROM (SELECT report_id, lock_key, requested_at, "
        "pg_catalog.row_number() OVER (PARTITION BY owner ORDER BY requested_at, lock_key) "
        "AS turn FROM _store_monitoring_internal.report "
        "WHERE status OPERATOR(pg_catalog.=) 'Running') r "
        "ORDER BY turn, requested_at, lock_key LIMIT 100",
        {}, false);
    std::vector<std::pair<std::string, uint32>> candidates;
    bool is_null = false;
    for (uint64 i = 0; i < count; ++i)
      candidates.emplace_back(text_string(spi_value(i, 1, &is_null)),
                              static_cast<uint32>(DatumGetInt64(spi_value(i, 2, &is_null))));
    for (const auto& [report_id, lock_key] : candidates) {
      if (!try_lock(kReportLockClass, lock_key)) continue;
      locked.push_back(lock_key);
      claiming = report_id;
      // Re-read under the lock in a fresh snapshot: another worker may have
      // finished it since the list above was read.
      uint64 found = spi_execute(
          "SELECT status, owner, as_of, max_extrapolation, interpolation, attempts, requested_at "
          "FROM _store_monitoring_internal.report WHERE report_id OPERATOR(pg_catalog.=) $1",
          {{TEXTOID, text_datum(report_id)}}, false);
      if (found == 0 ||
          text_string(spi_value(0, 1, &is_null)) != status_text(ReportStatus::Running)) {
        unlock(kReportLockClass, lock_key);
        locked.pop_back();
        continue;
      }
      int attempts = DatumGetInt32(spi_value(0, 6, &is_null));
      if (attempts >= max_attempts) {
        exhausted.push_back({report_id, lock_key,
                             "the report's worker was interrupted " + std::to_string(attempts) +
                                 " times (killed, crashed, or the server stopped); giving up "
                                 "(store_monitoring.max_attempts)"});
        continue;  // keep the lock until it is marked Failed below
      }
      Claim claim{};
      claim.lock_key = lock_key;
      claim.job.report_id = report_id;
      claim.job.owner = DatumGetObjectId(spi_value(0, 2, &is_null));
      Datum as_of = spi_value(0, 3, &is_null);
      claim.as_of_known = !is_null;
      claim.job.as_of = is_null ? 0 : DatumGetTimestampTz(as_of);
      claim.job.max_extrapolation_us =
          interval_us(reinterpret_cast<Interval*>(DatumGetPointer(spi_value(0, 4, &is_null))));
      claim.job.interpolation = text_string(spi_value(0, 5, &is_null)) == "previous"
                                    ? InterpolationSetting::previous
                                    : InterpolationSetting::nearest;
      claim.requested_at = DatumGetTimestampTz(spi_value(0, 7, &is_null));
      char sql[512];
      snprintf(sql, sizeof(sql),
               "UPDATE _store_monitoring_internal.report SET phase = '%s', attempts = attempts "
               "OPERATOR(pg_catalog.+) "
               "1, started_at = pg_catalog.clock_timestamp(), "
               "worker_pid = pg_catalog.pg_backend_pid() WHERE report_id OPERATOR(pg_catalog.=) $1",
               phase_text(ReportPhase::computing));
      spi_execute(sql, {{TEXTOID, text_datum(report_id)}}, false);
      progress_begin(report_id);
      outcome.claim = std::move(claim);
      break;
    }
  });
  if (!result.ok) {
    // Whatever the transaction locked is no longer ours to finish.
    for (uint32 lock_key : locked) unlock(kReportLockClass, lock_key);
    bool is_new =
        claiming.empty() || note_trouble(claiming, "could not be claimed: " + result.message);
    log_trouble("store_monitoring could not claim a report: " + result.error, is_new);
    return {std::nullopt, true};
  }
  for (const Exhausted& report : exhausted) {
    if (!mark_failed(report.report_id, report.message)) outcome.failed = true;
    unlock(kReportLockClass, report.lock_key);
  }
  return outcome;
}

bool has_unclaimed_reports() {
  bool any = false;
  in_transaction([&] { any = any_orphaned_report(); });
  return any;
}

bool any_orphaned_report() {
  char sql[1024];
  snprintf(sql, sizeof(sql),
           "SELECT 1 FROM _store_monitoring_internal.report r WHERE r.status "
           "OPERATOR(pg_catalog.=) 'Running' "
           "AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_locks l "
           "WHERE l.locktype OPERATOR(pg_catalog.=) 'advisory' AND l.database "
           "OPERATOR(pg_catalog.=) %u AND l.classid OPERATOR(pg_catalog.=) %u "
           "AND l.objid OPERATOR(pg_catalog.=) (r.lock_key OPERATOR(pg_catalog.&) 4294967295)::oid "
           "AND l.objsubid OPERATOR(pg_catalog.=) %d) LIMIT 1",
           MyDatabaseId, kReportLockClass, static_cast<int>(kLockTagSpace));
  return spi_execute(sql, {}, false, 1) > 0;
}

std::string queued_reason() {
  // RecoveryInProgress() reads shared memory and raises no error (bare).
  if (RecoveryInProgress()) return "reports are computed on the primary (this is a standby)";
  char sql[1024];
  snprintf(sql, sizeof(sql),
           "SELECT (SELECT count(*) FROM pg_catalog.pg_locks l WHERE l.locktype "
           "OPERATOR(pg_catalog.=) 'advisory' "
           "AND l.database OPERATOR(pg_catalog.=) %u AND l.classid OPERATOR(pg_catalog.=) %u AND "
           "l.objsubid OPERATOR(pg_catalog.=) %d AND l.granted), "
           "(SELECT count(*) FROM pg_catalog.pg_stat_activity a "
           "WHERE a.backend_type OPERATOR(pg_catalog.=) 'store_monitoring worker' AND a.datid "
           "OPERATOR(pg_catalog.=) %u)",
           MyDatabaseId, kSlotLockClass, static_cast<int>(kLockTagSpace), MyDatabaseId);
  spi_execute(sql, {}, true);
  bool is_null = false;
  int64 busy = DatumGetInt64(spi_value(0, 1, &is_null));
  int64 running = DatumGetInt64(spi_value(0, 2, &is_null));
  int max_workers = current_settings().max_workers;
  if (busy >= max_workers)
    return "a worker: all " + std::to_string(max_workers) +
           " report workers of this database (store_monitoring.max_workers) are busy";
  if (running == 0)
    return "a worker: none runs in this database (no free background-worker slot, see "
           "max_worker_processes, or one is starting); get_report(), wait_report() and the "
           "launcher start one";
  return "a worker of this database to claim it";
}

}  // namespace store_monitoring::pg
