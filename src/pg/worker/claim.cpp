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

#include <algorithm>
#include <cstdio>
#include <utility>
#include <vector>

namespace store_monitoring::pg {
namespace {

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

// The condition on report r that no worker holds it.
std::string held_by_no_worker() {
  char sql[512];
  snprintf(sql, sizeof(sql),
           "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_locks l "
           "WHERE l.locktype OPERATOR(pg_catalog.=) 'advisory' AND l.database "
           "OPERATOR(pg_catalog.=) %u AND l.classid OPERATOR(pg_catalog.=) %u "
           "AND l.objid OPERATOR(pg_catalog.=) (r.lock_key OPERATOR(pg_catalog.&) 4294967295)::oid "
           "AND l.objsubid OPERATOR(pg_catalog.=) %d)",
           MyDatabaseId, kReportLockClass, static_cast<int>(kLockTagSpace));
  return sql;
}

}  // namespace

bool try_lock(uint32 lock_class, uint32 key) {
  LOCKTAG tag = advisory_tag(lock_class, key);
  bool taken = pg_call([&] { return LockAcquire(&tag, ExclusiveLock, true, true); }) !=
               LOCKACQUIRE_NOT_AVAIL;
  if (taken) note_worker_lock(lock_class, key);
  return taken;
}

void unlock(uint32 lock_class, uint32 key) {
  LOCKTAG tag = advisory_tag(lock_class, key);
  forget_worker_lock(lock_class, key);
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
    // A report that gave way to a lock waits until its retry_at, and then
    // takes its turn after its owner's other reports.
    uint64 count = spi_execute(
        "SELECT report_id, lock_key FROM (SELECT report_id, lock_key, requested_at, retry_at, "
        "pg_catalog.row_number() OVER (PARTITION BY owner ORDER BY retry_at NULLS FIRST, "
        "requested_at, lock_key) AS turn FROM _store_monitoring_internal.report "
        "WHERE status OPERATOR(pg_catalog.=) 'Running') r "
        "WHERE retry_at IS NULL OR retry_at OPERATOR(pg_catalog.<=) pg_catalog.clock_timestamp() "
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
      // finished it since the list above was read. A row another transaction
      // holds locked is left for later rather than waited for.
      uint64 found = spi_execute(
          "SELECT status, owner, as_of, max_extrapolation, interpolation, attempts, requested_at "
          "FROM _store_monitoring_internal.report WHERE report_id OPERATOR(pg_catalog.=) $1 "
          "FOR NO KEY UPDATE SKIP LOCKED",
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

// One statement: the report's time spent giving way so far is read and
// extended in the row it updates.
std::optional<bool> requeue_report(const std::string& report_id, const std::string& why,
                                   int timeout_ms) {
  bool requeued = false;
  TransactionResult result = in_transaction([&] {
    requeued =
        spi_execute(
            "UPDATE _store_monitoring_internal.report SET phase = 'queued', worker_pid = NULL, "
            "attempts = GREATEST(attempts OPERATOR(pg_catalog.-) 1, 0), error = $2, "
            "lock_wait_since = COALESCE(lock_wait_since, started_at, "
            "pg_catalog.clock_timestamp()), "
            "retry_at = pg_catalog.clock_timestamp() OPERATOR(pg_catalog.+) LEAST("
            "interval '10 s', GREATEST(interval '250 ms', pg_catalog.clock_timestamp() "
            "OPERATOR(pg_catalog.-) COALESCE(lock_wait_since, started_at, "
            "pg_catalog.clock_timestamp()))) "
            "WHERE report_id OPERATOR(pg_catalog.=) $1 AND status OPERATOR(pg_catalog.=) 'Running' "
            "AND ($3 OPERATOR(pg_catalog.<=) 0 OR lock_wait_since IS NULL "
            "OR (pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) lock_wait_since) "
            "OPERATOR(pg_catalog.<) ($3 OPERATOR(pg_catalog.*) interval '1 ms'))",
            {{TEXTOID, text_datum(report_id)},
             {TEXTOID, text_datum(stored_error(why))},
             {FLOAT8OID, Float8GetDatum(timeout_ms)}},
            false) == 1;
  });
  if (!result.ok) {
    log_trouble(
        "store_monitoring could not give back report \"" + report_id + "\": " + result.error,
        note_trouble(report_id, "could not be given back (" + result.message + ") after: " + why));
    return std::nullopt;
  }
  return requeued;
}

std::optional<long> unclaimed_report_wait_ms() {
  std::optional<long> wait;
  (void)in_transaction([&] {
    // One row when a report waits; the wait is NULL when one of them can be
    // claimed now.
    std::string sql =
        "SELECT CASE WHEN pg_catalog.bool_and(r.retry_at IS NOT NULL AND r.retry_at "
        "OPERATOR(pg_catalog.>) pg_catalog.clock_timestamp()) THEN "
        "pg_catalog.ceil(pg_catalog.date_part('epoch', pg_catalog.min(r.retry_at) "
        "OPERATOR(pg_catalog.-) pg_catalog.clock_timestamp()) OPERATOR(pg_catalog.*) 1000)::int8 "
        "END FROM _store_monitoring_internal.report r WHERE r.status OPERATOR(pg_catalog.=) "
        "'Running' AND " +
        held_by_no_worker() + " HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 0";
    if (spi_execute(sql.c_str(), {}, false, 1) != 1) return;
    bool is_null = true;
    Datum ms = spi_value(0, 1, &is_null);
    wait = is_null ? 0 : std::max<long>(1, DatumGetInt64(ms));
  });
  return wait;
}

bool has_unclaimed_reports() {
  bool any = false;
  in_transaction([&] { any = any_orphaned_report(); });
  return any;
}

bool any_orphaned_report() {
  std::string sql =
      "SELECT 1 FROM _store_monitoring_internal.report r WHERE r.status "
      "OPERATOR(pg_catalog.=) 'Running' AND " +
      held_by_no_worker() + " LIMIT 1";
  return spi_execute(sql.c_str(), {}, false, 1) > 0;
}

std::string queued_reason() {
  // RecoveryInProgress() reads shared memory and raises no error (bare).
  if (RecoveryInProgress()) return "reports are computed on the primary (this is a standby)";
  char sql[1024];
  snprintf(sql, sizeof(sql),
           "SELECT (SELECT count(*) FROM pg_catalog.pg_locks l WHERE l.locktype "
           "OPERATOR(pg_catalog.=) 'advisory' "
           "AND l.database OPERATOR(pg_catalog.=) %u AND l.classid OPERATOR(pg_catalog.=) %u AND "
           "l.objsubid OPERATOR(pg_catalog.=) %d AND l.mode OPERATOR(pg_catalog.=) 'ExclusiveLock' "
           "AND l.granted), "
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
